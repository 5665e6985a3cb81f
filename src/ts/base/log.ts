// Where libbpf's own messages go. libbpf prints from whichever thread calls it; the
// addon captures those lines and hands them over here, on the JS thread.
import { argRangeError, argTypeError } from './args';
import { addon, type LibbpfLine } from './native';

/** libbpf's message levels (LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG), least verbose first. */
export type LogLevel = 'warn' | 'info' | 'debug';
/** Receives libbpf's messages on the JS thread, without libbpf's "libbpf: " prefix (see {@link setLogger}). */
export type Logger = (level: LogLevel, message: string) => void;

const LEVELS: Record<LogLevel, number> = { warn: 0, info: 1, debug: 2 };

/**
 * Receive libbpf's messages (`level` and up). Pass `null` (or `undefined`) to stop. Messages of failed
 * calls are also attached to the thrown BpfError (`error.libbpfLog`), logger or not.
 *
 * @example
 * setLogger((level, message) => console.error(`[libbpf ${level}] ${message}`), { level: 'info' });
 */
export function setLogger(logger: Logger | null | undefined, options: { level?: LogLevel } = {}): void {
  const level = options.level ?? 'info';
  if (logger === undefined) logger = null;
  if (logger !== null && typeof logger !== 'function') throw argTypeError('logger', 'a function, null or undefined', logger);
  if (!Object.hasOwn(LEVELS, level)) throw argRangeError('options.level', "'warn', 'info' or 'debug'", level);
  const max = LEVELS[level];
  addon.setLogger(
    logger &&
      ((lines: LibbpfLine[]) => {
        for (const { level: l, message } of lines) if (LEVELS[l] <= max) logger(l, message.replace(/^libbpf: /, ''));
      }),
    max,
  );
}

if (process.env.NODE_LIBBPF_DEBUG) {
  setLogger((level, message) => process.stderr.write(`node-libbpf [${level}] ${message}\n`), { level: 'debug' });
}
