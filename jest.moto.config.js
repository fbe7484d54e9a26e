/**
 * Jest for the suites that run against moto's server (test/**\/*.moto.ts), which need Python and
 * `pip install "moto[server]"`, so they stay out of `npm test`. Run: `npx jest -c jest.moto.config.js`.
 * The environment (with its open-handle check) and the transform come from jest.config.js, so they cannot drift apart.
 * @type {import('jest').Config}
 */
const { testEnvironment, transform, transformIgnorePatterns } = require('./jest.config.js');

module.exports = {
  testEnvironment,
  transform,
  transformIgnorePatterns,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.moto.ts'],
  // moto answers in milliseconds once up; the margin is for a slow CI machine, not for retries.
  testTimeout: 30_000,
};
