/**
 * `npm test`: every *.test.ts under test/, the end-to-end suite against `npm start` included.
 *
 * It must never hang, since a hung run blocks every change from landing:
 * - every test and hook has a deadline (`testTimeout`, sized for a loaded two-core machine; hooks that
 *   bundle or start processes set a longer one of their own);
 * - a file that leaves a handle open fails, naming what it left (test/support/leak-guard-environment.ts),
 *   so a leak is found and closed where it is made rather than hidden by forcing the run to exit;
 * - `.ci/run` bounds the whole run with `timeout` and fails on a worker jest had to force-exit.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: '<rootDir>/test/support/leak-guard-environment.ts',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // jose ships ESM only; jest's CommonJS runtime needs it transformed like our own code.
    '^.+\\.(t|j)sx?$': ['@swc/jest'],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  testTimeout: 30_000,
};
