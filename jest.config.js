// Jest runs in ESM mode (NODE_OPTIONS=--experimental-vm-modules) because
// @kubernetes/client-node and jose ship ES modules only; swc strips types.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
      },
    ],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/support/tier-reporter.js'],
  // Integration tests start processes and wait on a shared 2-core CI machine.
  testTimeout: 60000,
};
