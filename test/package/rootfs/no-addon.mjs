// Where the addon cannot load, as a user in the slim root meets it: `import 'node-libbpf'`
// throws one AddonLoadError whose text matches the expected advice, and the command line
// (--help, doctor) still works and says why. Prints `SMOKE <json>`; exit 0 when all held.
//
//   node no-addon.mjs ADVICE_REGEX
import { spawnSync } from 'node:child_process';

const want = new RegExp(process.argv[2]);
const steps = {};
let error;
try {
  await import('node-libbpf');
} catch (e) {
  error = e;
}
steps.import = error?.name === 'AddonLoadError' && want.test(error.message) ? 'ok' : `FAILED: ${error ? error.message : 'it loaded'}`;
const cli = (...args) => spawnSync(process.execPath, ['node_modules/node-libbpf/dist/cli/main.js', ...args], { encoding: 'utf8' });
const help = cli('--help');
steps.help = help.status === 0 && help.stdout.includes('node-libbpf doctor') ? 'ok' : `FAILED: ${help.status} ${help.stderr}`;
const doctor = cli('doctor');
steps.doctor = doctor.status === 0 && doctor.stdout.startsWith('node-libbpf doctor (addon not loaded)') && want.test(doctor.stdout)
  ? 'ok' : `FAILED: ${doctor.status} ${doctor.stdout.slice(0, 300)} ${doctor.stderr}`;
const passed = Object.values(steps).every((s) => s === 'ok');
console.log(`SMOKE ${JSON.stringify({ runtime: `node ${process.versions.node}`, arch: process.arch, libbpf: null, passed, steps, message: error?.message })}`);
process.exit(passed ? 0 : 1);
