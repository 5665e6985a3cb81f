// examples/fentry against the real kernel: this process's unlink() calls seen by
// fentry/fexit on do_unlinkat(), or the EPERM refusal where the kernel refuses fentry.
import { cleanupAfterEach } from '../support/helpers';
import { unlinkFunction, unlinkTracerTests } from '../support/examples';

const cleanup = cleanupAfterEach();

describe('examples/fentry', () => {
  unlinkTracerTests({ example: 'fentry', kind: 'fentry', entry: 'fentry', exit: 'fexit', ready: `tracing ${unlinkFunction()}() with fentry/fexit; Ctrl-C to stop` }, cleanup);
});
