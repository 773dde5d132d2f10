/**
 * The image the node agent runs: built from the Containerfile at the repository's root
 * (`npm run image`), tagged with the package's version so that `ferry manifests` of one
 * release deploys that release's agent.
 */

// Read at run time rather than imported: package.json lies outside the compiled tree, and
// from dist/manifests/ as from src/manifests/ it is two levels up (in the image as well).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

export const VERSION: string = version;

export const IMAGE_REPOSITORY = 'ghcr.io/ferry-io/ferry';

/** The image the agent DaemonSet runs unless `ferry manifests --image` says otherwise. */
export const DEFAULT_AGENT_IMAGE = `${IMAGE_REPOSITORY}:${VERSION}`;

/** Where the image keeps the application (the Containerfile's WORKDIR). */
export const IMAGE_APP_DIR = '/app';

/**
 * How the image starts the agent: its own entry point, bundled into one file (`npm run
 * build`, scripts/bundle-agent.ts), which holds the agent alone (not the `ferry` command
 * table). The Containerfile's ENTRYPOINT says the same; a test holds them together.
 */
export const AGENT_ENTRYPOINT: readonly string[] = ['node', `${IMAGE_APP_DIR}/dist/agent.js`];
