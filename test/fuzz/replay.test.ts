// Every seed of the fuzzer and every input that ever crashed, hung or threw something
// unexpected (test/fuzz/crashes/, saved by `npm run fuzz`) runs again, each in a fresh child
// process: it must finish with one of our errors or a result, never a signal or a timeout.
import * as fs from 'node:fs';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CORPUS, CRASHES, Worker, loadTargets } = require('./lib') as {
  CORPUS: string; CRASHES: string; loadTargets(): Record<string, unknown>;
  Worker: new () => { run(target: string, file: string, ms: number): Promise<{ outcome?: string; error?: string; crash?: string; hang?: boolean }>; stop(): void };
};

const targets = Object.keys(loadTargets());
const inputs: [string, string][] = [];
for (const t of targets) {
  const dir = path.join(CORPUS, t);
  if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir).sort()) inputs.push([t, path.join(dir, f)]);
}
for (const f of fs.existsSync(CRASHES) ? fs.readdirSync(CRASHES).sort() : []) {
  const t = f.split('-')[0];
  if (f.endsWith('.bin')) inputs.push([t, path.join(CRASHES, f)]);
}

test('the corpus has seeds for every target', () => {
  expect(targets).toEqual(expect.arrayContaining(['btf', 'dwarf', 'elf']));
  for (const t of targets) expect(inputs.filter(([x]) => x === t).length).toBeGreaterThan(0);
});

test.each(inputs.map(([t, f]) => [t, path.relative(path.join(__dirname), f), f]))('%s: %s', async (target, _name, file) => {
  const worker = new Worker();
  try {
    const r = await worker.run(target, file, 30000);
    expect({ crash: r.crash, hang: r.hang, error: r.error }).toEqual({ crash: undefined, hang: undefined, error: undefined });
    expect(r.outcome).toMatch(/^(header|refused|rejected|loaded)$/);
  } finally {
    worker.stop();
  }
});
