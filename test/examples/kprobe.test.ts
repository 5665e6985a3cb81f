// examples/kprobe against the real kernel: this process's unlink() calls seen by a kprobe
// and a kretprobe on do_unlinkat(), or the ENOENT refusal on a kernel without kprobes.
import { cleanupAfterEach } from '../support/helpers';
import { unlinkFunction, unlinkTracerTests } from '../support/examples';

const cleanup = cleanupAfterEach();

describe('examples/kprobe', () => {
  unlinkTracerTests({ example: 'kprobe', kind: 'kprobe', entry: 'kprobe', exit: 'kretprobe', ready: `tracing ${unlinkFunction()}() with a kprobe and a kretprobe; Ctrl-C to stop` }, cleanup);
});
