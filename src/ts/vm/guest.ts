// What runs inside the VM: a busybox init that mounts what libbpf needs, shares the
// host's root read-only over 9p and runs the command there with chroot, so node, the
// project and its node_modules run unchanged against the guest kernel.

/** Console lines starting with this are the init's, never the command's. */
export const MARKER = 'NLB-VM:';
/** Where the writable output share appears inside the guest (NODE_LIBBPF_VM_OUT). */
export const GUEST_OUT = '/tmp/nlb-vm/out';

// PID 1. /mnt/host is the host's / (read-only 9p); the command runs chrooted in ROOT:
// /mnt/host itself, or a root filesystem directory under it (another architecture's user
// space: VmOptions.root). There the guest's /proc, /sys (with bpffs, tracefs, debugfs,
// cgroup2 under it) and /dev are bound over the host's, /tmp and /run are tmpfs, /boot holds only
// the guest kernel's config, and the host's output directory is mounted writable at
// GUEST_OUT.
/** The init script, for a chroot at /mnt/host + `root` (a host path, '' for the host's /). */
export function initScript(root = ''): string {
  const ROOT = `/mnt/host${root.replace(/\/+$/, '')}`;
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
say() { echo "${MARKER} $*"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/shm /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t bpf bpf /sys/fs/bpf || say "cannot mount bpffs"
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || say "cannot mount cgroup2"
ip link set lo up 2>/dev/null
say "boot uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"
[ -e /sys/kernel/btf/vmlinux ] || say "no /sys/kernel/btf/vmlinux"
while read -r m; do insmod "/modules/$m" || say "insmod $m failed"; done < /modules/load-order
p9="trans=virtio,version=9p2000.L,msize=512000"
mount -t 9p -o "$p9,ro,cache=loose" host /mnt/host || { say "cannot mount the host share"; poweroff -f; }
ROOT=${ROOT}
[ -d "$ROOT/proc" ] || { say "no root filesystem at $ROOT"; poweroff -f; }
for d in proc sys dev; do mount -o rbind /$d $ROOT/$d; done
# The guest's /tmp is a tmpfs over the host's; a working directory under the host's /tmp
# (a CI clone there, say) is bound back in, read-only like the rest of the host.
mkdir -p /hosttmp && mount -o bind /mnt/host/tmp /hosttmp
mount -t tmpfs -o mode=1777 tmpfs $ROOT/tmp
keep=$(sed -n 's/^cd //p' /run.sh | tr -d "'")
case "$keep" in /tmp/?*) mkdir -p "$ROOT$keep" && mount -o bind "/hosttmp\${keep#/tmp}" "$ROOT$keep" || say "cannot keep $keep";; esac
# A writable /run (a tmpfs, as a booted system has): \`ip netns add\` makes its files there.
[ -d $ROOT/run ] && mount -t tmpfs -o mode=755 tmpfs $ROOT/run
# libbpf resolves __kconfig externs from /boot/config-$(uname -r): the guest kernel's own.
[ -d $ROOT/boot ] && mount -t tmpfs tmpfs $ROOT/boot && cp /boot/config-* $ROOT/boot/
mkdir -p $ROOT${GUEST_OUT} && mount -t 9p -o "$p9" out $ROOT${GUEST_OUT} || say "cannot mount the output share"
cp /run.sh $ROOT/tmp/nlb-vm/run.sh
say "ready uptime=$(cut -d' ' -f1 /proc/uptime)s"
chroot $ROOT /bin/sh /tmp/nlb-vm/run.sh
say "exit=$? uptime=$(cut -d' ' -f1 /proc/uptime)s"
sync
poweroff -f
`;
}

/** The init for the host's own root. */
export const INIT_SCRIPT = initScript();

/** Quotes `s` for sh. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script run in the chroot: environment, working directory, then the command. */
export function runScript(command: string[], cwd: string, env: Record<string, string>): string {
  const lines = ['#!/bin/sh', 'set -e'];
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shellQuote(v)}`);
  lines.push(`cd ${shellQuote(cwd)}`, 'set +e', command.map(shellQuote).join(' '), '');
  return lines.join('\n');
}
