import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VARIABLES } from '../../src/cli/environment';

/**
 * The help's table of environment variables (src/cli/environment.ts) and the configuration
 * schema (src/config/env.ts) name the same variables: a variable added to the schema shows
 * in the help, and the help describes nothing ferry no longer reads.
 */
const SRC = join(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [readFileSync(join(dir, e.name), 'utf8')] : [],
  );
}

test('every variable the configuration schema reads is described for the help', () => {
  const env = readFileSync(join(SRC, 'config/env.ts'), 'utf8');
  const schema = env.slice(env.indexOf('const envSchema = z.object({'), env.indexOf('\n});', env.indexOf('const envSchema')));
  const read = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
  expect(read).toContain('FERRY_CLUSTER_NAME');
  expect(read.filter((name) => !(name in VARIABLES))).toEqual([]);
});

test('every variable the help describes is read somewhere in ferry', () => {
  const text = sources(SRC)
    .filter((s) => !s.includes('export const VARIABLES = {'))
    .join('\n');
  expect(Object.keys(VARIABLES).filter((name) => !new RegExp(`\\b${name}\\b`).test(text))).toEqual([]);
});
