// Writes the run's totals to build/test-summary.txt as `N passed, N failed, N skipped`,
// which .ci/run prints as its last line.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests + results.numTodoTests} skipped`;
    const file = path.join(__dirname, '..', '..', 'build', 'test-summary.txt');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${line}\n`);
  }
}
module.exports = SummaryReporter;
