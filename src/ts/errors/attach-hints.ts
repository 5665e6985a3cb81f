// Hints for attach() by section name: which explicit call a section that cannot attach
// on its own needs, and what the kernel lacks when an auto-attach is refused. Shared by
// Program.attach() and BpfObject.attach(), so both say the same for the same failure.
import * as os from 'node:os';
import { BpfError, withDetail } from './bpf-error';
import { requirementIn } from './requirements';

// Section prefix (libbpf's, up to the first '/') -> the explicit call that attaches it.
const EXPLICIT_CALLS: [RegExp, string][] = [
  [/^perf_event$/, "attachPerfEvent({ type: 'software', config: 'cpu-clock', frequency: 99 })"],
  [/^socket$/, 'attachSocket(socket)'],
  [/^(tcx|tc)\/(ingress|egress)$/, "attachTcx('eth0')"],
  [/^(tc|tcx|classifier|action)$/, "attachTcx('eth0', { direction: 'ingress' })"],
  [/^u(ret)?probe(\.s)?$/, "attachUprobe({ binary: '/path/to/binary', func: 'name' })"],
  [/^u(ret)?probe\.multi(\.s)?$/, "attachUprobeMulti({ binary: '/path/to/binary', pattern: 'name*' })"],
  [/^usdt(\.s)?$/, "attachUsdt({ binary: '/path/to/binary', provider: 'provider', name: 'probe' })"],
  [/^k(ret)?probe$/, "attachKprobe('function')"],
  [/^k(ret)?probe\.multi$/, "attachKprobeMulti({ pattern: 'function*' })"],
  [/^k(ret)?syscall$/, "attachKsyscall('syscall')"],
  [/^(tp|tracepoint)$/, "attachTracepoint('category', 'name')"],
  [/^(raw_tp|raw_tracepoint)(\.w)?$/, "attachRawTracepoint('name')"],
  [/^xdp(\.frags)?$/, "attachXdp('eth0')"],
  [/^cgroup/, "attachCgroup('/sys/fs/cgroup')"],
  [/^sk_lookup$/, "attachNetns('/proc/self/ns/net')"],
  [/^netfilter$/, "attachNetfilter({ family: 'ipv4', hook: 'input', priority: 0 })"],
  [/^sk_(msg|skb)/, 'attachSockmap(obj.map(NAME))'],
  [/^iter(\.s)?\//, 'attachIter()'],
];

/**
 * The explicit attach call for a section libbpf cannot attach by itself
 * ("attachPerfEvent(...)" for `SEC("perf_event")`), or undefined when none fits.
 */
export function explicitAttachCall(section: string): string | undefined {
  // A uprobe that names its function but no binary: libbpf wants "binary:function".
  const uprobe = /^u(ret)?probe(\.s)?\/([^:]+)$/.exec(section);
  if (uprobe) {
    const binary = uprobe[3] === 'readline' ? '/bin/bash' : '/path/to/binary';
    return `attachUprobe({ binary: '${binary}', func: '${uprobe[3]}'${uprobe[1] ? ', retprobe: true' : ''} })`;
  }
  const bare = /^u(ret)?probe(\.s)?$/.exec(section);
  if (bare) return `attachUprobe({ binary: '/path/to/binary', func: 'name'${bare[1] ? ', retprobe: true' : ''} })`;
  return EXPLICIT_CALLS.find(([re]) => re.test(section))?.[1];
}

function callHint(call: string, what: string): string {
  return `${what}: attach it with program.${call}`;
}

/** The error of a section that names no attach target (libbpf attached nothing). */
export function noAttachTargetError(program: string, section: string): BpfError {
  const call = explicitAttachCall(section);
  return new BpfError(os.constants.errno.EOPNOTSUPP, 'bpf_program__attach', `prog '${program}': section '${section}' names no attach target`, {
    hint: call ? callHint(call, 'libbpf cannot attach this section by itself') : 'use the explicit attach call for its kind (attachKprobe, attachUprobe, attachTcx, ...)',
    program,
  });
}

// The message without its "syscall: CODE (text): " prefix and ". Hint: ..." suffix.
function detailOf(e: BpfError): string {
  const start = e.message.indexOf('): ');
  let detail = start < 0 ? '' : e.message.slice(start + 3);
  if (e.hint && detail.endsWith(`. Hint: ${e.hint}`)) detail = detail.slice(0, -(e.hint.length + 8));
  return detail;
}

/**
 * A refused auto-attach, with the program named and the hint `Program.attach()` gives:
 * the explicit call when the section lacks what libbpf needs (a uprobe's binary), or
 * the kernel feature the section needs when the kernel refused it.
 */
export function refineAttachError(e: unknown, program: string, section: string): unknown {
  if (!(e instanceof BpfError)) return e;
  const detail = e.message.includes(`'${program}'`) ? undefined : `prog '${program}': ${detailOf(e) || 'attach failed'}`;
  if (e.code === 'EINVAL' && /missing ':function|binary:function/.test(e.message)) {
    const call = explicitAttachCall(section);
    if (call) return withDetail(e, detail, callHint(call, `section '${section}' names no binary`));
  }
  // A kernel that predates a link type answers EINVAL, one built without it EOPNOTSUPP.
  if (['EOPNOTSUPP', 'ENOTSUPP', 'EINVAL'].includes(e.code)) {
    const requirement = requirementIn(section);
    if (requirement && !e.hint?.includes(requirement)) return withDetail(e, detail, `${e.hint ? `${e.hint}: ` : ''}${requirement}`);
  }
  return detail === undefined ? e : withDetail(e, detail, undefined);
}
