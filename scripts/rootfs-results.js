// Turns scripts/rootfs-smoke.sh's results.tsv into results.json and compares each runtime's
// outcome with test/package/rootfs/expected.json: "pass", or { "fails": REGEX, "why": TEXT } for a
// runtime recorded as unable to run the addon (the reason is printed, and it must still be
// the reason: a runtime that starts passing, or fails differently, is reported).
//
//   node scripts/rootfs-results.js results.tsv results.json expected.json
'use strict';
const fs = require('node:fs');

const [tsv, json, expectedFile] = process.argv.slice(2);
const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));
const results = fs.readFileSync(tsv, 'utf8').trim().split('\n').map((row) => {
  const [name, rc, line, reason] = row.split('\t');
  const smoke = JSON.parse(line);
  return { name, passed: rc === '0' && smoke?.passed === true, smoke, reason: reason || undefined };
});
fs.writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);

let bad = 0;
for (const want of Object.keys(expected)) {
  if (!results.some((r) => r.name === want)) {
    console.error(`rootfs-smoke: ${want} did not run`);
    bad++;
  }
}
for (const r of results) {
  const want = expected[r.name] ?? 'pass';
  if (want === 'pass') {
    if (!r.passed) bad++;
    console.log(`${r.name.padEnd(14)} ${r.passed ? 'pass' : `FAIL ${r.reason ?? JSON.stringify(r.smoke?.steps)}`}${r.smoke ? `  (${r.smoke.runtime}, libbpf ${r.smoke.libbpf})` : ''}`);
  } else if (r.passed) {
    bad++;
    console.log(`${r.name.padEnd(14)} pass, but test/package/rootfs/expected.json records it as failing (${want.why}): update it and the README`);
  } else if (!new RegExp(want.fails).test(r.reason ?? '')) {
    bad++;
    console.log(`${r.name.padEnd(14)} FAIL with another reason than recorded: ${r.reason}`);
  } else {
    console.log(`${r.name.padEnd(14)} fails as recorded: ${want.why}\n         ${r.reason}`);
  }
}
process.exit(bad ? 1 : 0);
