import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The import rules of docs/design.md §7 (`.dependency-cruiser.js`): the product keeps them,
 * and the checker really catches an upward import (a fixture tree with one).
 */
const ROOT = join(__dirname, '../..');
const CLI = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruise(cwd: string, paths: string[]): Violation[] {
  const out = spawnSync(process.execPath, [CLI, ...paths, '--config', join(ROOT, '.dependency-cruiser.js'), '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!out.stdout) throw new Error(`dependency-cruiser failed: ${out.stderr}`);
  return (JSON.parse(out.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('layers', () => {
  test('the product, the functions and the emulators import only downward', () => {
    const violations = cruise(ROOT, ['src', 'functions', 'packages/emulators/src']);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 60_000);

  test('an upward import is caught', () => {
    const violations = cruise(join(__dirname, 'fixture'), ['src']);
    expect(violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual(['model-is-pure: src/model/upward.ts → src/wiring/connect.ts']);
  }, 60_000);
});
