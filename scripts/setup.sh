#!/usr/bin/env bash
# Everything `npm test` and `npm run demo` need on a fresh Debian-like machine, each
# step skipped when already done:
#   1. system packages: clang, gcc, g++, make, bzip2 (the elfutils and zlib tarballs), patch
#      (our libbpf patches), systemtap-sdt-dev, bpftool, iproute2 (ip and tc, for the network
#      tests' namespaces, veths and tc filters), prometheus (the metrics tests start their own
#      server on 127.0.0.1), llvm-19 (llvm-symbolizer, the symbols test's reference) (apt-get,
#      as root). No libelf-dev or zlib1g-dev: libelf and zlib are built from pinned sources
#      (deps/elfutils, deps/zlib) into the addon.
#   2. tracefs and bpffs mounted (as root)
#   3. npm dependencies, libbpf, elfutils and zlib fetched and verified, the addon and
#      TypeScript built
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

# grep without -q: it reads all of compgen's output, so pipefail never sees a SIGPIPE.
have_clang() { compgen -c | grep -E '^clang(-[0-9]+)?$' >/dev/null; }
missing=()
have_clang || missing+=(clang-19)
command -v bzip2 >/dev/null || missing+=(bzip2)
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || missing+=(g++)
command -v gcc >/dev/null || missing+=(gcc)
# deps/libbpf/fetch.sh applies our libbpf patches with it
command -v patch >/dev/null || missing+=(patch)
# <sys/sdt.h>: the USDT probes of the uprobe tests' target programs
echo '#include <sys/sdt.h>' | gcc -E -x c - >/dev/null 2>&1 || missing+=(systemtap-sdt-dev)
# The vmlinux test compares `node-libbpf vmlinux` with bpftool's output.
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || missing+=(bpftool)
{ command -v ip && command -v tc; } >/dev/null || missing+=(iproute2)
# test/metrics/prometheus.test.ts runs a real Prometheus (Debian's package; the tests never use its service).
command -v prometheus >/dev/null || missing+=(prometheus)
# The symbols test and benchmark compare the Symbolizer with llvm-symbolizer of llvm-19.
[ -x /usr/lib/llvm-19/bin/llvm-symbolizer ] || missing+=(llvm-19)
if [ ${#missing[@]} -gt 0 ]; then
  if ! is_root || ! command -v apt-get >/dev/null; then
    say "missing system packages: ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) and run again"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if is_root; then
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing || say "could not mount tracefs"
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || say "could not mount bpffs"
else
  say "not root: loading BPF programs will need CAP_BPF/CAP_PERFMON (tests expect root)"
fi

if [ ! -d node_modules/node-addon-api ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# node-gyp reads headers from npm's nodedir when set (offline machines), as `npm run` would.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodedir=$(npm config get nodedir 2>/dev/null || true)
  [ -n "$nodedir" ] && [ "$nodedir" != undefined ] && export npm_config_nodedir=$nodedir
fi
bash deps/libbpf/fetch.sh
bash deps/elfutils/fetch.sh
bash deps/zlib/fetch.sh
if [ ! -f build/Makefile ]; then
  npx --no-install node-gyp configure >/dev/null
fi
npx --no-install node-gyp build -j 2 >/dev/null 2>build/gyp.log || { cat build/gyp.log >&2; exit 1; }
npm run --silent build:ts
npm run --silent build:examples
# The shipped binaries (test/package checks them): built in a Debian 11 root when missing
# or built from other native sources (~2 min warm; the first time adds ~2 min for the root).
if ! node scripts/shipped-binaries.js --fresh 2>/dev/null; then
  if is_root; then
    say "prebuilds are missing or stale: npm run prebuilds"
    bash scripts/prebuild.sh
  else
    say "prebuilds are missing or stale and building them needs root: the package tests will say so"
  fi
fi
