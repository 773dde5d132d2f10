#!/usr/bin/env node
'use strict';
// Runs the compiled CLI when `npm run build` has made one, else the TypeScript sources
// through tsx (a development dependency), so `npx ferry` works on a fresh clone too.
const fs = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  // tsx finds tsconfig.json (and with it the emulators' source path) from the working
  // directory; name it, so `ferry` runs from anywhere, as `npx ferry local` in a scratch dir.
  process.env.TSX_TSCONFIG_PATH ??= path.join(__dirname, '..', 'tsconfig.json');
  require('tsx/cjs');
  cli = require('../src/cli/main.ts');
}
// main() prints its own errors and resolves to the exit code; a rejection is a bug in ferry.
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`ferry: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  },
);
