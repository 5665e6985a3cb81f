# Sourced by deps/debian-source.sh and scripts/lib/debian-root.sh.
# apt_archive_uri: the archive URI of this machine's own apt sources (deb822 first, then the
# one-line format), read at run time so that no archive is named in the repository.
apt_archive_uri() {
  local f uri=
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '/^URIs:/{print $2; exit}' "$f")
    [ -z "$uri" ] || break
  done
  [ -n "$uri" ] || uri=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] && echo "$uri"
}
