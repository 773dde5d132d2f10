/**
 * `npm run image [-- --tag TAG] [--engine NAME] [--push]`: builds the Containerfile with the
 * first container engine that is installed and answering (docker, podman, buildah, nerdctl),
 * tagged ghcr.io/ferry-io/ferry:<package.json version> unless told otherwise. An engine
 * whose client is installed but whose daemon does not answer does not count; when none is
 * usable it says what it found for each and exits 1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command, Option } from '@commander-js/extra-typings';
import { DEFAULT_AGENT_IMAGE } from '../src/manifests/image';

const ROOT = join(__dirname, '..');
const ENGINES = ['docker', 'podman', 'buildah', 'nerdctl'] as const;
type Engine = (typeof ENGINES)[number];
/** How long an engine may take to answer `info` before it counts as unreachable. */
const PROBE_TIMEOUT_MS = 15_000;

type Probe = { engine: Engine; usable: true } | { engine: Engine; usable: false; why: string };

function probe(engine: Engine): Probe {
  const result = spawnSync(engine, ['info'], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, stdio: ['ignore', 'ignore', 'pipe'] });
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return { engine, usable: false, why: 'not installed' };
  if (code === 'ETIMEDOUT') return { engine, usable: false, why: `installed, but \`${engine} info\` did not answer within ${PROBE_TIMEOUT_MS / 1000} s` };
  if (result.error) return { engine, usable: false, why: `installed, but \`${engine} info\` failed: ${result.error.message}` };
  if (result.status !== 0) {
    const said = result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${result.status}`;
    return { engine, usable: false, why: `installed, but its engine is not reachable (\`${engine} info\`: ${said})` };
  }
  return { engine, usable: true };
}

function run(command: string, args: string[]): Promise<number> {
  console.log(`$ ${[command, ...args].join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
}

async function main(argv: string[]): Promise<number> {
  const options = new Command('npm run image --')
    .description('Build the ferry image (the node agent) from the Containerfile with the container engine at hand.')
    .option('--tag <image>', 'the image name and tag', DEFAULT_AGENT_IMAGE)
    .addOption(new Option('--engine <name>', `use this engine rather than the first usable of ${ENGINES.join(', ')}`).choices(ENGINES))
    .option('--push', 'push the image after building it')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .parse(argv, { from: 'user' })
    .opts();
  const probes: Probe[] = [];
  for (const engine of options.engine ? [options.engine] : ENGINES) {
    const found = probe(engine);
    probes.push(found);
    if (found.usable) break;
  }
  const usable = probes.find((p) => p.usable);
  if (!usable) {
    console.error('npm run image: no usable container engine:');
    for (const p of probes) if (!p.usable) console.error(`  ${p.engine}: ${p.why}`);
    console.error('Start the engine (e.g. the Docker daemon), or install one of docker, podman, buildah or nerdctl.');
    return 1;
  }
  const built = await run(usable.engine, ['build', '--file', 'Containerfile', '--tag', options.tag, '.']);
  if (built !== 0 || !options.push) return built;
  return run(usable.engine, ['push', options.tag]);
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`npm run image: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
