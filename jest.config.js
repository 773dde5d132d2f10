/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src', '<rootDir>/packages/emulators/test'],
  testMatch: ['**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup.ts'],
  transform: { '^.+\\.(t|j|mj)sx?$': ['@swc/jest'] },
  // The emulators workspace runs from its sources in tests, as tsx runs it for `npm start`.
  moduleNameMapper: { '^@ferry/emulators$': '<rootDir>/packages/emulators/src/index.ts' },
  // client-node 1.x and its dependencies are ESM-only; swc turns them into CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose)/)'],
};
