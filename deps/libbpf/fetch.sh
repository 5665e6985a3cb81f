#!/usr/bin/env bash
# Fetch the pinned libbpf release, verify it, and unpack it for the build.
#
#   deps/libbpf/fetch.sh          -> deps/libbpf/src/ (libbpf source tree, git-ignored)
#                                    include/bpf/     (BPF-side headers for users' programs)
#
# Sources, first that works wins; every tarball is checked against VERSION's sha256:
#   1. $LIBBPF_TARBALL            a local copy of the release tarball
#   2. the cache                  ${LIBBPF_CACHE:-~/.cache/node-libbpf}/libbpf-<version>.tar.gz
#   3. upstream                   the GitHub release tarball of tag v<version>
#   4. Debian's source package    libbpf_<version>.orig.tar.gz via `apt-get source`, from the
#                                 archive this machine's apt already uses (suite sid, deb-src)
# Offline with no cache: one message saying what to do. Never touches the system's apt
# setup (a private apt configuration under the cache directory is used).
# After the checksum, our own fixes in deps/libbpf/patches/*.patch are applied in name
# order (each says what it fixes and how to reproduce it; docs/libbpf-bugs.md). The stamp
# names the patches' sha256 too, so a tree unpacked before a patch changed is unpacked again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck disable=SC1091
. "$here/VERSION"
cache=${LIBBPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-libbpf}
tarball=$cache/libbpf-$version.tar.gz
dest=$here/src
stamp=$dest/.node-libbpf-version
patches=$(ls "$here"/patches/*.patch 2>/dev/null | sort || true)
patch_sum=$( [ -z "$patches" ] || cat $patches | sha256sum | cut -d' ' -f1)
want_stamp="$version $sha256 patches:${patch_sum:-none}"

say() { echo "libbpf: $*" >&2; }
sum_ok() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha256" ]; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ] && [ -d "$top/include/bpf" ]; then
  exit 0 # already unpacked from a verified tarball, with these patches
fi
mkdir -p "$cache"

from_local() {
  [ -n "${LIBBPF_TARBALL:-}" ] || return 1
  [ -f "$LIBBPF_TARBALL" ] || { say "LIBBPF_TARBALL=$LIBBPF_TARBALL does not exist"; return 1; }
  sum_ok "$LIBBPF_TARBALL" || { say "LIBBPF_TARBALL has the wrong sha256 (want $sha256)"; return 1; }
  cp "$LIBBPF_TARBALL" "$tarball.part" && mv "$tarball.part" "$tarball"
}

from_upstream() {
  [ -z "${LIBBPF_NO_UPSTREAM:-}" ] || return 1
  command -v curl >/dev/null || return 1
  local url="https://github.com/libbpf/libbpf/archive/refs/tags/v$version.tar.gz"
  curl -fsSL --connect-timeout 10 --max-time 120 -o "$tarball.part" "$url" 2>/dev/null || { rm -f "$tarball.part"; return 1; }
  sum_ok "$tarball.part" || { say "upstream tarball has the wrong sha256; not used"; rm -f "$tarball.part"; return 1; }
  mv "$tarball.part" "$tarball"
}

from_debian() {
  command -v apt-get >/dev/null || return 1
  local sources=/etc/apt/sources.list.d/debian.sources uri
  uri=$(awk '/^URIs:/{print $2; exit}' "$sources" 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || return 1
  local apt=$cache/apt
  mkdir -p "$apt"/{lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,src}
  touch "$apt/status"
  cat > "$apt/etc/sources.list.d/libbpf-src.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cat > "$apt/apt.conf" <<EOF
Dir::Etc::sourcelist "/dev/null";
Dir::Etc::sourceparts "$apt/etc/sources.list.d";
Dir::Etc::preferencesparts "$apt/etc/preferences.d";
Dir::State::Lists "$apt/lists";
Dir::Cache "$apt/cache";
Dir::State::status "$apt/status";
APT::Sandbox::User "root";
EOF
  export APT_CONFIG=$apt/apt.conf
  apt-get update -qq >/dev/null 2>&1 || return 1
  (cd "$apt/src" && apt-get source --download-only -qq "libbpf=$debian_version" >/dev/null 2>&1) || return 1
  local orig=$apt/src/libbpf_$version.orig.tar.gz
  [ -f "$orig" ] && sum_ok "$orig" || { say "Debian's libbpf_$version.orig.tar.gz is missing or has the wrong sha256"; return 1; }
  cp "$orig" "$tarball"
}

if [ -f "$tarball" ] && sum_ok "$tarball" && [ -z "${LIBBPF_TARBALL:-}" ]; then
  say "using cached $tarball"
elif from_local; then say "using LIBBPF_TARBALL"
elif from_upstream; then say "fetched the upstream release v$version"
elif from_debian; then say "fetched Debian's source package libbpf=$debian_version"
else
  cat >&2 <<EOF
libbpf: could not get libbpf $version (sha256 $sha256).
  Tried: \$LIBBPF_TARBALL, the cache ($tarball), the upstream release tarball, and
  Debian's source package libbpf=$debian_version (suite sid, deb-src).
  Offline? Download libbpf-$version.tar.gz (the GitHub release of libbpf/libbpf, tag
  v$version) or Debian's libbpf_$version.orig.tar.gz elsewhere, then run:
    LIBBPF_TARBALL=/path/to/that.tar.gz npm run build
EOF
  exit 1
fi

rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
tar -xzf "$tarball" -C "$dest.tmp" --strip-components=1
[ -f "$dest.tmp/src/libbpf.c" ] || { say "tarball does not look like libbpf (no src/libbpf.c)"; exit 1; }
for p in $patches; do
  command -v patch >/dev/null || { say "the 'patch' program is needed to apply deps/libbpf/patches"; exit 1; }
  patch -d "$dest.tmp" -p1 -s --forward --batch --no-backup-if-mismatch < "$p" || { say "patch $(basename "$p") does not apply"; exit 1; }
  say "applied $(basename "$p")"
done
rm -rf "$dest" && mv "$dest.tmp" "$dest"

# Public headers as <bpf/...> for the addon, and BPF-side headers for users' programs.
mkdir -p "$dest/out/include/bpf" "$top/include/bpf"
for h in bpf.h libbpf.h btf.h libbpf_common.h libbpf_legacy.h libbpf_version.h usdt.bpf.h \
         bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_endian.h bpf_core_read.h; do
  cp "$dest/src/$h" "$dest/out/include/bpf/$h"
done
for h in bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_endian.h bpf_core_read.h usdt.bpf.h; do
  cp "$dest/src/$h" "$top/include/bpf/$h"
done
echo "$want_stamp" > "$stamp"
say "libbpf $version ready in deps/libbpf/src"
