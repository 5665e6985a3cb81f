// The kernel matrix's jest configuration (`npm run test:kernels`, scripts/test-kernels.js):
// the project's configuration, run identically on the host and inside each guest kernel,
// with a JSON result file instead of the summary reporter (the guest's view of the
// project is read-only) and room for software-emulated VMs in the timeout.
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  reporters: ['default'],
  testTimeout: 600000,
};
