// `npm run demo` (after scripts/setup.sh): runs the example agent (examples/agent), says
// where its /metrics is, prints a sample of it once it has counted a little, and keeps it
// running until Ctrl-C (the agent stops cleanly on SIGINT and SIGTERM).
//
//   node scripts/demo.js [--duration SECONDS] [agent flags: --port N, --host ADDR, ...]
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const argv = process.argv.slice(2);
const at = argv.indexOf('--duration');
const duration = at === -1 ? undefined : Number(argv.splice(at, 2)[1]);
const agent = spawn(process.execPath, [path.join(__dirname, '..', 'build', 'examples', 'agent', 'index.js'), ...argv], { stdio: ['ignore', 'inherit', 'pipe'] });

let pending = '';
agent.stderr.on('data', (d) => {
  process.stderr.write(d); // the agent's JSON log lines
  pending += d;
  const lines = pending.split('\n');
  pending = lines.pop();
  for (const line of lines) {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (entry.msg === 'started') {
      setTimeout(() => sample(entry.metrics).catch((e) => console.error(`demo: could not read ${entry.metrics}: ${e.message}`)), 2000);
    }
  }
});

async function sample(url) {
  const text = await (await fetch(url)).text();
  // up to 5 series of each family the agent itself defines
  const families = ['agent_process_execs_total', 'agent_process_exits_total', 'agent_tcp_connections_total', 'agent_runqueue_latency_microseconds_count', 'agent_cgroup_events_total'];
  const lines = families.flatMap((f) => text.split('\n').filter((l) => l.startsWith(`${f}{`) || l.startsWith(`${f} `)).slice(0, 5));
  console.log(`\nThe agent serves Prometheus metrics on ${url}; a sample:\n\n${lines.join('\n')}\n\n(curl ${url} for all of them; SIGHUP reloads the BPF object, Ctrl-C stops)`);
  if (duration !== undefined) setTimeout(() => agent.kill('SIGTERM'), duration * 1000);
}

process.on('SIGINT', () => agent.kill('SIGINT'));
process.on('SIGTERM', () => agent.kill('SIGTERM'));
agent.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
