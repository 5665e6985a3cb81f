#!/usr/bin/env bash
# Fetch the pinned libbpf release, verify it, and unpack it for the build.
#
#   deps/libbpf/fetch.sh          -> deps/libbpf/src/ (libbpf source tree, git-ignored)
#                                    include/bpf/     (BPF-side headers for users' programs)
#
# Sources, first that works wins; every tarball is checked against VERSION's sha256
# (deps/debian-source.sh does the fetching, checking, patching and unpacking):
#   1. $LIBBPF_TARBALL            a local copy of the release tarball
#   2. the cache                  ${NODE_LIBBPF_CACHE:-~/.cache/node-libbpf}/libbpf-<version>.tar.gz
#   3. upstream                   the GitHub release tarball of tag v<version>
#                                 (LIBBPF_NO_UPSTREAM=1 skips it)
#   4. Debian's source package    libbpf_<version>.orig.tar.gz via `apt-get source`, from the
#                                 archive this machine's apt already uses (suite sid, deb-src)
# After the checksum, our own fixes in deps/libbpf/patches/*.patch are applied in name
# order (each says what it fixes and how to reproduce it; docs/libbpf-bugs.md). The stamp
# names the patches' sha256 too, so a tree unpacked before a patch changed is unpacked again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck disable=SC1091
. "$here/VERSION"
name=libbpf dest=$here/src check=src/libbpf.c env_var=LIBBPF_TARBALL
cache_file=libbpf-$version.tar.gz
upstream="the GitHub release of libbpf/libbpf, tag v$version"

from_upstream() {
  [ -z "${LIBBPF_NO_UPSTREAM:-}" ] || return 1
  command -v curl >/dev/null || return 1
  curl -fsSL --connect-timeout 10 --max-time 120 -o "$tarball.part" \
    "https://github.com/libbpf/libbpf/archive/refs/tags/v$version.tar.gz" 2>/dev/null || { rm -f "$tarball.part"; return 1; }
}

# Public headers as <bpf/...> for the addon, and BPF-side headers for users' programs.
after_unpack() {
  mkdir -p "$dest/out/include/bpf" "$top/include/bpf"
  for h in bpf.h libbpf.h btf.h libbpf_common.h libbpf_legacy.h libbpf_version.h usdt.bpf.h \
           bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_endian.h bpf_core_read.h; do
    cp "$dest/src/$h" "$dest/out/include/bpf/$h"
  done
  for h in bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_endian.h bpf_core_read.h usdt.bpf.h; do
    cp "$dest/src/$h" "$top/include/bpf/$h"
  done
}
# include/bpf is outside the tree: without it, unpack again (the stamp alone would skip it).
[ -d "$top/include/bpf" ] || rm -f "$dest/.node-libbpf-version"

# shellcheck disable=SC1091
. "$here/../debian-source.sh"
