import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, SourceMapMode, type BundlingOptions, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** The repository root: functions/ and package-lock.json live there, wherever the app runs from. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** The Lambda functions, each `functions/<name>/index.ts` exporting `handler`. */
export const FUNCTIONS = ['webhook', 'reconciler', 'resync'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/**
 * The esbuild options of every function, as esbuild spells them: the construct translates
 * them into NodejsFunction's bundling options, and `npm run bench` builds with them directly,
 * so the figures it reports are those of what ships.
 */
export const FUNCTION_BUNDLING = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  minify: true,
  // The nodejs22.x runtime ships SDK v3; leaving it out keeps bundles small. This is CDK's
  // default for the runtime, spelled out so that a change of default cannot double the size.
  external: ['@aws-sdk/*'],
  // A separate .map file (not inline) keeps what Node parses at cold start small;
  // NODE_OPTIONS=--enable-source-maps makes stack traces point at the TypeScript.
  sourcemap: true,
  sourcesContent: false,
  // client-node's node-fetch imports whatwg-url only as a fallback for runtimes without a
  // global URL; aliasing it to Node's own URL saves ~290 KB of Unicode tables per bundle.
  alias: { 'whatwg-url': path.join(REPO_ROOT, 'src', 'hosts', 'lambda', 'whatwg-url.ts') },
} satisfies BuildOptions;

/** `functions/<name>/index.ts`, the thin Lambda entry that re-exports the handler. */
export function entryOf(name: FunctionName): string {
  return path.join(REPO_ROOT, 'functions', name, 'index.ts');
}

/** FUNCTION_BUNDLING as NodejsFunction options (esbuild runs from node_modules: no Docker, no network). */
export function bundlingOptions(overrides: Partial<BundlingOptions> = {}): BundlingOptions {
  const b = FUNCTION_BUNDLING;
  return {
    externalModules: [...b.external],
    minify: b.minify,
    sourceMap: b.sourcemap,
    sourceMapMode: SourceMapMode.DEFAULT,
    sourcesContent: b.sourcesContent,
    target: b.target,
    format: b.format === 'cjs' ? OutputFormat.CJS : OutputFormat.ESM,
    esbuildArgs: Object.fromEntries(Object.entries(b.alias).map(([from, to]) => [`--alias:${from}`, to])),
    ...overrides,
  };
}

/** What the three functions have in common: runtime, architecture, entry, bundling. */
export function functionDefaults(name: FunctionName): NodejsFunctionProps {
  const lockFile = path.join(REPO_ROOT, 'package-lock.json');
  return {
    entry: entryOf(name),
    handler: 'handler',
    // nodejs20.x is deprecated on Lambda; arm64 is cheaper per GB-second and starts as fast.
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    // Pin the project root to this repository, so that a CDK app elsewhere (using the
    // construct from its own directory) still bundles ferry's entries with ferry's lock file.
    ...(fs.existsSync(lockFile) ? { depsLockFilePath: lockFile, projectRoot: REPO_ROOT } : {}),
    bundling: bundlingOptions(),
  };
}
