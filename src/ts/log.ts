// Where libbpf's own messages go. libbpf prints from whichever thread calls it; the
// addon captures those lines and hands them over here, on the JS thread.
import { addon, type LibbpfLine } from './native';

export type LogLevel = 'warn' | 'info' | 'debug';
export type Logger = (level: LogLevel, message: string) => void;

const LEVELS: Record<LogLevel, number> = { warn: 0, info: 1, debug: 2 };

/**
 * Receive libbpf's messages (`level` and up). Pass `null` to stop. Messages of failed
 * calls are also attached to the thrown BpfError (`error.libbpfLog`), logger or not.
 *
 * @example
 * setLogger((level, message) => console.error(`[libbpf ${level}] ${message}`), { level: 'info' });
 */
export function setLogger(logger: Logger | null, options: { level?: LogLevel } = {}): void {
  const level = options.level ?? 'info';
  if (logger !== null && typeof logger !== 'function') throw new TypeError('logger: expected a function or null');
  if (!(level in LEVELS)) throw new RangeError(`options.level: expected 'warn', 'info' or 'debug', got ${String(level)}`);
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
