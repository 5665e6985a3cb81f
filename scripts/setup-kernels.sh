#!/usr/bin/env bash
# What `npm run test:kernels` and `node-libbpf vm` need on top of scripts/setup.sh, kept
# separate so `npm test` stays lean: qemu-system-x86 and qemu-system-arm (the VMs; arm64
# for scripts/arm64-smoke.sh), busybox-static (the
# guest's init and shell), cpio (the initramfs), zstd and xz-utils (kernel images and
# modules), each installed with apt-get (as root) only when missing.
# Exit status 3: something is missing and cannot be installed here (not root, no apt).
set -euo pipefail
say() { echo "setup-kernels: $*" >&2; }

static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm) # the arm64 smoke
static_busybox || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
command -v zstd >/dev/null || missing+=(zstd)
command -v xz >/dev/null || missing+=(xz-utils)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  say "missing: ${missing[*]} (Debian: apt-get install ${missing[*]})"
  exit 3
fi
say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
