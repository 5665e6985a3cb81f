#!/usr/bin/env bash
# Fetch the pinned elfutils release (Debian's source package), verify it, and unpack it:
#   deps/elfutils/fetch.sh   -> deps/elfutils/src/ (git-ignored)
# Only libelf is built from it (deps/elfutils.gyp), as a static library.
# A local copy: ELFUTILS_TARBALL=/path/to/elfutils_<version>.orig.tar.bz2.
# How the tarball is found and checked: deps/debian-source.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091
. "$here/VERSION"
name=elfutils dest=$here/src check=libelf/elf_begin.c env_var=ELFUTILS_TARBALL
# The public headers alone in out/include, so users of the library do not see its private ones.
# Our config.h (deps/elfutils/config.h.in, what ./configure would write for libelf alone) goes
# in the unpacked tree, so deps/ holds no C of elfutils' shape beside our own sources.
after_unpack() {
  mkdir -p "$dest/ours" && cp "$here/config.h.in" "$dest/ours/config.h"
  mkdir -p "$dest/out/include"
  for h in libelf/libelf.h libelf/gelf.h libelf/nlist.h; do cp "$dest/$h" "$dest/out/include/"; done
}
# shellcheck disable=SC1091
. "$here/../debian-source.sh"
