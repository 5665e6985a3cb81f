# Sourced by deps/<lib>/fetch.sh: fetch a pinned Debian source package's upstream tarball,
# verify it and unpack it. The caller sets, from its VERSION file:
#   name              library name (messages, cache file name)
#   version sha256    upstream version and the orig tarball's sha256
#   debian_version    Debian's source version (apt-get source <pkg>=<debian_version>)
#   debian_suite      the Debian suite that carries that version
#   orig              the orig tarball's file name in the source package
#   check             a file that must exist in the unpacked tree
#   env_var           the environment variable naming a local copy of the tarball
# and the paths here (the library's deps/ directory) and dest (where the tree goes).
# Optionally: cache_file (the tarball's name in the cache; default $orig), upstream (what
# from_upstream fetches, for messages), a function from_upstream (another source, tried before Debian's archive; it writes "$tarball.part"
# and returns 0, the checksum is checked here) and a function after_unpack (runs once the
# tree is in place, $dest set).
#
# Sources, first that works wins; every tarball is checked against sha256:
#   1. ${!env_var}       a local copy of the orig tarball
#   2. the cache         ${NODE_LIBBPF_CACHE:-~/.cache/node-libbpf}/<cache_file>
#   3. from_upstream     when the caller has one
#   4. Debian's archive  `apt-get source --download-only`, with a private apt configuration
#                        (a deb-src entry for $debian_suite using the archive URI this
#                        machine's apt already uses). The system's apt setup is not touched.
# After the checksum, our own fixes in deps/<lib>/patches/*.patch are applied in name order.
set -euo pipefail
cache=${NODE_LIBBPF_CACHE:-${LIBBPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-libbpf}}
tarball=$cache/${cache_file:-$orig}
stamp=$dest/.node-libbpf-version

say() { echo "$name: $*" >&2; }
sum_ok() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha256" ]; }
# Our patches and templates (deps/<lib>/*.in, copied in by after_unpack) are part of the
# stamp: changing one re-unpacks the tree.
patches_sum() { cat "$here"/patches/*.patch "$here"/*.in 2>/dev/null | sha256sum | cut -c1-16; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version $sha256 $(patches_sum)" ]; then
  exit 0 # already unpacked from a verified tarball, with the current patches
fi
mkdir -p "$cache"

from_local() {
  local file=${!env_var:-}
  [ -n "$file" ] || return 1
  [ -f "$file" ] || { say "$env_var=$file does not exist"; return 1; }
  sum_ok "$file" || { say "$env_var has the wrong sha256 (want $sha256)"; return 1; }
  cp "$file" "$tarball.part" && mv "$tarball.part" "$tarball"
}

. "$(dirname "${BASH_SOURCE[0]}")/apt-archive.sh"

from_debian() {
  command -v apt-get >/dev/null || return 1
  local uri apt=$cache/apt-$debian_suite
  uri=$(apt_archive_uri) || return 1
  mkdir -p "$apt"/{lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d,src}
  touch "$apt/status"
  cat > "$apt/etc/sources.list.d/src.sources" <<SRC
Types: deb-src
URIs: $uri
Suites: $debian_suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat > "$apt/apt.conf" <<CONF
Dir::Etc::sourcelist "/dev/null";
Dir::Etc::sourceparts "$apt/etc/sources.list.d";
Dir::Etc::preferencesparts "$apt/etc/preferences.d";
Dir::State::Lists "$apt/lists";
Dir::Cache "$apt/cache";
Dir::State::status "$apt/status";
APT::Sandbox::User "root";
CONF
  local pkg=${debian_package:-$name}
  APT_CONFIG=$apt/apt.conf apt-get update -qq >/dev/null 2>&1 || return 1
  (cd "$apt/src" && APT_CONFIG=$apt/apt.conf apt-get source --download-only -qq "$pkg=$debian_version" >/dev/null 2>&1) || return 1
  [ -f "$apt/src/$orig" ] && sum_ok "$apt/src/$orig" || { say "Debian's $orig is missing or has the wrong sha256"; return 1; }
  cp "$apt/src/$orig" "$tarball"
}

if [ -f "$tarball" ] && sum_ok "$tarball" && [ -z "${!env_var:-}" ]; then
  say "using cached $tarball"
elif from_local; then say "using $env_var"
elif declare -F from_upstream >/dev/null && from_upstream; then
  sum_ok "$tarball.part" || { say "the upstream tarball has the wrong sha256 (want $sha256)"; rm -f "$tarball.part"; exit 1; }
  mv "$tarball.part" "$tarball"
  say "fetched the upstream release $version"
elif from_debian; then say "fetched Debian's source package ${debian_package:-$name}=$debian_version"
else
  cat >&2 <<MSG
$name: could not get $name $version (sha256 $sha256).
  Tried: \$$env_var, the cache ($tarball),${upstream:+ $upstream,} and Debian's source package
  ${debian_package:-$name}=$debian_version (suite $debian_suite, deb-src).
  Offline? Download Debian's $orig${upstream:+ or $upstream} elsewhere, then run:
    $env_var=/path/to/$orig npm run build
MSG
  exit 1
fi

rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
tar -xf "$tarball" -C "$dest.tmp" --strip-components=1
[ -f "$dest.tmp/$check" ] || { say "tarball does not look like $name (no $check)"; exit 1; }
for p in "$here"/patches/*.patch; do
  [ -f "$p" ] || continue
  command -v patch >/dev/null || { say "the 'patch' program is needed to apply deps/$name/patches"; exit 1; }
  patch -d "$dest.tmp" -p1 -s --forward --batch --no-backup-if-mismatch < "$p" || { say "patch $(basename "$p") does not apply"; exit 1; }
  say "applied $(basename "$p")"
done
rm -rf "$dest" && mv "$dest.tmp" "$dest"
if declare -F after_unpack >/dev/null; then after_unpack; fi
echo "$version $sha256 $(patches_sum)" > "$stamp"
say "$name $version ready in ${dest#"$(cd "$here/../.." && pwd)/"}"
