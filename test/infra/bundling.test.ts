import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { LogLevel, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { bundlingOptions, functionDefaults } from '../../infra/bundling';

/**
 * The one test that really runs esbuild (~1 s): the webhook, through NodejsFunction with the
 * construct's own options, plus esbuild's metafile to see what went into the bundle. The
 * other functions' sizes and import times are the lead's `npm run bench`.
 */
describe('webhook bundle', () => {
  let outdir: string;
  let asset: string;

  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-cdk-'));
    const app = new App({ outdir, builtinCloudFormationValidation: false, stackTraces: false, treeMetadata: false });
    const stack = new Stack(app, 'Bundle');
    const defaults = functionDefaults('webhook');
    new NodejsFunction(stack, 'Webhook', { ...defaults, bundling: bundlingOptions({ metafile: true, logLevel: LogLevel.ERROR }) });
    app.synth();
    const dirs = fs.readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    expect(dirs).toHaveLength(1);
    asset = path.join(outdir, dirs[0]!);
  }, 30_000);

  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  it('is minified CommonJS with a separate source map', () => {
    const code = fs.readFileSync(path.join(asset, 'index.js'), 'utf8');
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    expect(fs.existsSync(path.join(asset, 'index.js.map'))).toBe(true);
    // Minified: few, long lines.
    expect(code.split('\n').length).toBeLessThan(50);
  });

  it('leaves the SDK and the Kubernetes client out', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(asset, 'index.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((i) => i.includes('functions/webhook/index.ts'))).toBe(true);
    expect(inputs.filter((i) => i.includes('node_modules/@kubernetes/'))).toEqual([]);
    expect(inputs.filter((i) => i.includes('node_modules/@aws-sdk/'))).toEqual([]);
  });

  it('stays under the 1.5 MB target', () => {
    expect(fs.statSync(path.join(asset, 'index.js')).size).toBeLessThan(1.5 * 1024 * 1024);
  });
});
