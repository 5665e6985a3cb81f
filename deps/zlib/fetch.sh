#!/usr/bin/env bash
# Fetch the pinned zlib release (Debian's source package), verify it, and unpack it:
#   deps/zlib/fetch.sh   -> deps/zlib/src/ (git-ignored)
# Built as a static library by deps/zlib.gyp (libelf's compressed sections need it).
# A local copy: ZLIB_TARBALL=/path/to/zlib_<version>.dfsg.orig.tar.bz2.
# How the tarball is found and checked: deps/debian-source.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$here/VERSION"
name=zlib dest=$here/src check=inflate.c env_var=ZLIB_TARBALL
# The public headers alone in out/include, so users of the library do not see its private ones.
after_unpack() {
  mkdir -p "$dest/out/include"
  for h in zlib.h zconf.h; do cp "$dest/$h" "$dest/out/include/"; done
}
# shellcheck disable=SC1091
. "$here/../debian-source.sh"
