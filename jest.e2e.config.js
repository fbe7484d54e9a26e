/**
 * Jest for the end-to-end suite against a system named by an outputs file (`npm run e2e -- --outputs
 * <file>`); the same suite runs in `npm test` against `npm start`.
 * @type {import('jest').Config}
 */
const { testEnvironment, transform, transformIgnorePatterns } = require('./jest.config.js');

module.exports = {
  testEnvironment,
  transform,
  transformIgnorePatterns,
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.ts'],
  testTimeout: 30_000,
};
