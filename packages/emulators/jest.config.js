/** `npm test -w @ferry/emulators`: the emulators' own suite (the root `npm test` runs it too). */
const path = require('node:path');
const root = require('../../jest.config.js');

module.exports = { ...root, rootDir: __dirname, roots: ['<rootDir>/test'], setupFiles: [path.join(__dirname, '../../test/setup.ts')], moduleNameMapper: {} };
