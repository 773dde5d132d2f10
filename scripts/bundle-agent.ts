/**
 * `npm run build` ends here: the node agent as one file, dist/agent.js, the image's
 * ENTRYPOINT. Node then reads and compiles one file instead of resolving and loading
 * several hundred modules one by one (client-node alone is over 700 ms that way, and its
 * KubeConfig pulls in all of it), which is what brings the agent's import under 400 ms.
 *
 * The entry imports the agent's whole module graph up front (cli.ts loads it lazily, so
 * that `ferry agent --help` answers at once from the `ferry` command table): a node agent
 * that starts runs all of it anyway, and so the import time measured is all of it.
 * `node dist/agent.js` runs the agent because cli.ts, bundled, is the main module's code.
 */
import { buildSync, type BuildOptions } from 'esbuild';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

const AGENT_BUNDLING = {
  bundle: true,
  platform: 'node',
  // The image's Node.js (Containerfile's NODE_IMAGE).
  target: 'node22',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  // As for the Lambda bundles (infra/bundling.ts): Node's own URL instead of whatwg-url's tables.
  alias: { 'whatwg-url': join(ROOT, 'src', 'hosts', 'lambda', 'whatwg-url.ts') },
  logLevel: 'warning',
} satisfies BuildOptions;

/** Writes the agent bundle of the checkout at `root` (and its source map) to `outfile`. */
export function bundleAgent(outfile: string, root = ROOT): void {
  buildSync({
    ...AGENT_BUNDLING,
    stdin: {
      contents: ["import './run';", "import './modes';", "import '../util/log';", "import './cli';"].join('\n'),
      resolveDir: join(root, 'src', 'agent'),
      sourcefile: 'src/agent/bundle-entry.ts',
      loader: 'ts',
    },
    outfile,
  });
}

if (require.main === module) bundleAgent(process.argv[2] ?? join(ROOT, 'dist', 'agent.js'));
