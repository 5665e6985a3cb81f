// What a cgroup v2 path says about its container and pod, from the names the runtimes give
// their cgroups (no file system access here). The layouts, as their sources write them:
// - docker: `<parent>/docker-<id>.scope` with the systemd driver (moby's cgroup parent is
//   "system.slice" + ":docker:", which runc turns into a docker-<id>.scope unit), and
//   `/docker/<id>` with the cgroupfs driver (the parent is "docker").
// - kubelet: pod cgroups are `pod<uid>` under `kubepods`, in `burstable` or `besteffort`
//   for those QoS classes and directly under kubepods for guaranteed pods. The systemd
//   driver spells each level as a slice named after its whole path, with '-' in a part
//   turned into '_' (ConvertCgroupNameToSystemd in kubelet's cgroup_manager_linux.go):
//   `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice`.
// - containerd's CRI plugin: `cri-containerd-<id>.scope` in the pod slice (systemd), the bare
//   `<id>` in the pod directory (cgroupfs; docker through cri-dockerd looks the same there).
// - CRI-O: `crio-<id>.scope`, and `crio-conmon-<id>.scope` for its monitor (systemd);
//   `crio-<id>` (cgroupfs).
// - Below a container's cgroup (a container that makes its own cgroups, such as one running
//   systemd) everything still belongs to that container: the deepest container name wins.
// - podman: `libpod-<id>.scope` and `libpod-conmon-<id>.scope` (systemd; in machine.slice,
//   or the user's user.slice when rootless), `/libpod_parent/libpod-<id>` with the
//   cgroupfs manager, conmon then in its `conmon` child.
// - containerd without `SystemdCgroup = true` under a kubelet with the systemd driver takes
//   the systemd-style cgroupsPath literally: one directory
//   `kubepods-<qos>-pod<uid>.slice:cri-containerd:<id>` (Falco's libsinsp and tracee parse it).
// - systemd: `x.service` and `x.scope` units; a cgroup in none of these is plain.

/** What made a cgroup: a container runtime, systemd, or nothing known ('none'). */
export type CgroupRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'cri' | 'systemd' | 'none';

/** The kubelet's QoS classes, as it names their cgroups. */
export type PodQosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** The Kubernetes pod a cgroup belongs to, as its kubelet cgroup names it. */
export interface PodRef {
  /** The pod's metadata.uid, with dashes (the systemd driver's underscores turned back). */
  uid: string;
  /** The pod's QoS class: the kubelet cgroup level (kubepods-besteffort, ...) it sits under; 'guaranteed' directly under kubepods. */
  qosClass: PodQosClass;
}

/** What a cgroup path says, without its id. */
export interface CgroupLayout {
  /**
   * The runtime that named the container. 'cri': a container of a kubelet pod under the
   * cgroupfs driver, where the directory is the bare id and does not say which CRI runtime
   * made it. 'systemd': a unit that is no container. 'none': anything else (a pod or QoS
   * level cgroup without a container has `pod` set and runtime 'none').
   */
  runtime: CgroupRuntime;
  /** The container's id (64 hex digits) when the cgroup is a container's or below one. */
  containerId?: string;
  /** The kubelet pod the cgroup is part of (its pod cgroup or a container's below it). */
  pod?: PodRef;
  /** The systemd unit (`sshd.service`, `session-3.scope`), unescaped, when no container. */
  unit?: string;
  /** True for the cgroup of the runtime's monitor (conmon) of `containerId`, not the container. */
  conmon?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SCOPES: readonly [RegExp, CgroupRuntime, boolean][] = [
  [/^docker-([0-9a-f]{64})\.scope$/, 'docker', false],
  [/^cri-containerd-([0-9a-f]{64})\.scope$/, 'containerd', false],
  [/^crio-conmon-([0-9a-f]{64})\.scope$/, 'cri-o', true],
  [/^crio-([0-9a-f]{64})(?:\.scope)?$/, 'cri-o', false],
  [/^libpod-conmon-([0-9a-f]{64})\.scope$/, 'podman', true],
  [/^libpod-([0-9a-f]{64})(?:\.scope)?$/, 'podman', false],
];
const CRI_COLON = /^(.*):cri-containerd:([0-9a-f]{64})$/;
const POD_SLICE = /^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]+)\.slice$/;
const POD_DIR = /^pod([0-9a-f-]+)$/;
const UNIT = /\.(service|scope)$/;

/** systemd's unit name escaping (`\x2d` for '-' inside a name), undone. */
function unescapeUnit(name: string): string {
  return name.includes('\\x') ? name.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : name;
}

/** The container, pod and unit a cgroup path (`/a/b/c`, relative to the cgroup2 root) names. */
export function parseCgroupPath(cgroupPath: string): CgroupLayout {
  const parts = cgroupPath.split('/').filter(Boolean);
  const out: CgroupLayout = { runtime: 'none' };
  let inKubepods = false;
  let qos: PodQosClass = 'guaranteed';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const prev = i > 0 ? parts[i - 1] : '';
    let m = CRI_COLON.exec(part);
    if (m) {
      const pod = POD_SLICE.exec(m[1]);
      if (pod) out.pod = { uid: pod[2].replace(/_/g, '-'), qosClass: (pod[1] as PodQosClass | undefined) ?? 'guaranteed' };
      setContainer(out, 'containerd', m[2], false);
      continue;
    }
    m = POD_SLICE.exec(part);
    if (m) {
      out.pod = { uid: m[2].replace(/_/g, '-'), qosClass: (m[1] as PodQosClass | undefined) ?? 'guaranteed' };
      continue;
    }
    if (part === 'kubepods' || part === 'kubepods.slice') inKubepods = true;
    if (inKubepods && !out.pod && (part === 'burstable' || part === 'besteffort')) qos = part;
    if (inKubepods && !out.pod && (m = POD_DIR.exec(part))) {
      out.pod = { uid: m[1], qosClass: qos };
      continue;
    }
    if (container(out, part, prev)) continue;
    // The cgroupfs drivers' podman monitor sits in a `conmon` child of the container's cgroup.
    if (part === 'conmon' && out.runtime === 'podman' && i === parts.length - 1) out.conmon = true;
  }
  if (out.runtime === 'none' && parts.length > 0) {
    const last = parts[parts.length - 1];
    if (UNIT.test(last)) {
      out.runtime = 'systemd';
      out.unit = unescapeUnit(last);
    }
  }
  return out;
}

/** Sets the container fields when `part` names one; the deepest such part wins (nesting). */
function container(out: CgroupLayout, part: string, prev: string): boolean {
  for (const [re, runtime, conmon] of SCOPES) {
    const m = re.exec(part);
    if (m) return setContainer(out, runtime, m[1], conmon);
  }
  if (HEX64.test(part)) {
    if (prev === 'docker') return setContainer(out, 'docker', part, false);
    if (out.pod && !out.containerId) return setContainer(out, 'cri', part, false);
  }
  return false;
}

function setContainer(out: CgroupLayout, runtime: CgroupRuntime, id: string, conmon: boolean): true {
  out.runtime = runtime;
  out.containerId = id;
  if (conmon) out.conmon = true;
  else delete out.conmon;
  return true;
}
