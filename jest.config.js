/** Tests load real programs into the running kernel: they run as root, one file at a time. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  moduleNameMapper: { '^node-libbpf$': '<rootDir>/src/ts/index.ts', '^node-libbpf/toolchain$': '<rootDir>/src/ts/toolchain/index.ts', '^node-libbpf/metrics$': '<rootDir>/src/ts/metrics/index.ts' },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 1,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
