import { ApiException, CoreV1Api, DiscoveryV1Api, type KubeConfig, Watch } from '@kubernetes/client-node';
import { KubeEmulator, type KubeEmulatorOptions } from '../../src/kube';

export interface Harness {
  emulator: KubeEmulator;
  kc: KubeConfig;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
}

export async function startHarness(options: KubeEmulatorOptions = {}): Promise<Harness> {
  const emulator = await KubeEmulator.start(options);
  const kc = emulator.kubeConfig();
  return { emulator, kc, core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

/** The Status body of a failed client-node call. */
export async function apiError(call: Promise<unknown>): Promise<{ code: number; body: Record<string, any> }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) {
      const body = typeof err.body === 'string' && err.body ? JSON.parse(err.body) : err.body;
      return { code: err.code, body };
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

export async function waitFor(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface WatchEvent {
  type: string;
  object: any;
}

/** Records the events of one client-node Watch. */
export class WatchRecorder {
  readonly events: WatchEvent[] = [];
  ended: Error | null | undefined = undefined;
  private controller: AbortController | undefined;

  static async start(kc: KubeConfig, path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<WatchRecorder> {
    const recorder = new WatchRecorder();
    recorder.controller = await new Watch(kc).watch(
      path,
      query,
      (type, object) => recorder.events.push({ type, object }),
      (err) => {
        recorder.ended = err ?? null;
      },
    );
    return recorder;
  }

  /** `TYPE name` of each event, bookmarks as `BOOKMARK`. */
  summary(): string[] {
    return this.events.map((e) => (e.type === 'BOOKMARK' || e.type === 'ERROR' ? e.type : `${e.type} ${e.object?.metadata?.name}`));
  }

  async waitForCount(n: number, timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.events.length >= n, timeoutMs, `${n} watch events (have ${JSON.stringify(this.summary())})`);
  }

  async waitForEnd(timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.ended !== undefined, timeoutMs, 'the watch to end');
  }

  stop(): void {
    this.controller?.abort();
  }
}

export const svc = (name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  metadata: { name, ...metadata },
  spec: { ports: [{ port: 80 }], ...spec },
});
