// The fuzzer's child process: runs inputs it is sent (over IPC) through a target and answers
// with the outcome. A crash (signal) or a hang (no answer in time) is seen by the parent,
// which saves the input (scripts/fuzz.js, test/fuzz/replay.test.ts).
'use strict';
const fs = require('node:fs');
const { loadTargets } = require('./lib');

const targets = loadTargets();

process.on('message', async ({ id, target, file }) => {
  let reply;
  try {
    const outcome = await targets[target].run(fs.readFileSync(file));
    reply = { id, outcome };
  } catch (e) {
    reply = { id, outcome: 'unexpected', error: String((e && e.stack) || e) };
  }
  process.send(reply);
});
process.send({ ready: true });
