// The library in worker threads: one object per worker works, and terminating a worker
// while its load(), testRunAsync() or iterator read is in flight leaves the process alive
// (it aborted: 'terminate called after throwing an instance of Napi::Error', because the
// completion ran JS-facing code in an environment that was shutting down).
import { run } from '../support/child';
import { distDir, fixture } from '../support/helpers';

const REPS = 50;

// A script for a child process (an abort would end the test run otherwise): REPS workers per
// operation, 4 at a time, each terminated as soon as it says the operation is in flight.
function terminateScript(): string {
  return `
    const { Worker } = require('node:worker_threads');
    const code = \`
      const { workerData, parentPort } = require('node:worker_threads');
      const { BpfObject } = require(workerData.dist);
      (async () => {
        const op = workerData.op;
        const obj = BpfObject.open(op === 'load' ? workerData.basic : op === 'testRunAsync' ? workerData.testrun : workerData.iter);
        if (op === 'load') { obj.load().catch(() => {}); parentPort.postMessage('go'); return; }
        await obj.load();
        if (op === 'testRunAsync') {
          obj.program('tr_tc').testRunAsync({ data: Buffer.alloc(64), repeat: 1000000 }).catch(() => {});
        } else {
          obj.program('iter_tasks').attachIter().readAsync().catch(() => {});
        }
        parentPort.postMessage('go');
      })();\`;
    const data = ${JSON.stringify({ dist: distDir(), basic: fixture('basic'), testrun: fixture('net_testrun'), iter: fixture('iter_walks') })};
    function once(op) {
      return new Promise((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { ...data, op } });
        w.on('message', (m) => { if (m === 'go') void w.terminate(); });
        w.on('error', reject);
        w.on('exit', resolve);
      });
    }
    (async () => {
      for (const op of ['load', 'testRunAsync', 'readAsync']) {
        for (let i = 0; i < ${REPS}; i += 4) await Promise.all([0, 1, 2, 3].filter((j) => i + j < ${REPS}).map(() => once(op)));
        console.log(op, 'survived ${REPS} terminations');
      }
    })().catch((e) => { console.log('error', e && e.message); process.exit(3); });
  `;
}

test(`terminating a worker mid-load/testRunAsync/readAsync: the process survives (${REPS} each)`, () => {
  const r = run(['-e', terminateScript()], 240000);
  expect({ signal: r.signal, timedOut: r.timedOut, status: r.status, stderr: r.stderr.includes('terminate called') }).toEqual({ signal: null, timedOut: false, status: 0, stderr: false });
  expect(r.stdout.trim().split('\n')).toEqual(['load', 'testRunAsync', 'readAsync'].map((op) => `${op} survived ${REPS} terminations`));
});

test('one object per worker, four workers at once: each loads, runs and closes its own', () => {
  const r = run(['-e', `
    const { Worker } = require('node:worker_threads');
    const code = \`
      const { workerData, parentPort } = require('node:worker_threads');
      const { BpfObject } = require(workerData.dist);
      (async () => {
        const obj = BpfObject.open(workerData.testrun);
        await obj.load();
        const r = await obj.program('tr_tc').testRunAsync({ data: Buffer.alloc(64), repeat: 10 });
        const maps = obj.maps().length;
        obj.close();
        parentPort.postMessage({ retval: r.retval, maps, closed: obj.closed });
      })();\`;
    const data = ${JSON.stringify({ dist: distDir(), testrun: fixture('net_testrun') })};
    Promise.all([0, 1, 2, 3].map(() => new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: data });
      let got; w.on('message', (m) => { got = m; }); w.on('error', reject); w.on('exit', (code) => resolve({ code, got }));
    }))).then((all) => console.log(JSON.stringify(all)));
  `], 120000);
  expect(r.status).toBe(0);
  const all = JSON.parse(r.stdout) as { code: number; got: { retval: number; maps: number; closed: boolean } }[];
  expect(all).toHaveLength(4);
  for (const w of all) {
    expect(w.code).toBe(0);
    expect(w.got.closed).toBe(true);
    expect(w.got.maps).toBeGreaterThanOrEqual(0);
    expect(typeof w.got.retval).toBe('number');
  }
});
