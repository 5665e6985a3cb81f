// The error factory the addon calls (on the JS thread) for a failed libbpf call: the lines
// libbpf printed become the detail, the verifier log or the hint.
import { BpfError, detailOf, errnoName, stripPrefix, VerifierError, verifierLogs, type LibbpfLine } from './bpf-error';
import { hintFor } from './hints';

/** Called by the addon (on the JS thread) to build the error for a failed libbpf call. */
export function makeBpfError(errno: number, syscall: string, lines: LibbpfLine[]): BpfError {
  const text = lines.map((l) => l.message).join('\n');
  // Verifier logs go to VerifierError.log, not into every line list.
  const libbpfLog = lines
    .filter((l) => l.level !== 'debug')
    .map((l) => stripPrefix(l.message).replace(/-- BEGIN PROG LOAD LOG --[\s\S]*-- END PROG LOAD LOG --/, 'verifier log follows in VerifierError.log'));
  const [code] = errnoName(errno);
  const details = { libbpfLog, hint: hintFor(code, syscall, text) };
  const logs = verifierLogs(lines);
  if (logs.size > 0) {
    const [program, log] = [...logs][logs.size - 1];
    return new VerifierError(errno, syscall, program, log, details);
  }
  const { detail, program } = detailOf(lines);
  return new BpfError(errno, syscall, detail, { ...details, program });
}
