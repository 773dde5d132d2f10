import { digest } from '../util/hash';
import type { LoadBalancerModel } from './types';

/**
 * A fingerprint of a model, in two parts: everything but the targets, and the targets.
 * Stored on the Service after a successful reconcile. The same fingerprint next time means
 * AWS was already made to match (zero AWS calls); a change in the targets part alone means
 * only registrations can differ.
 *
 * Bump MODEL_VERSION when the meaning of a model changes, so upgraded ferry re-checks every
 * Service once.
 */
export const MODEL_VERSION = '2';

export interface Checkpoint {
  spec: string;
  targets: string;
}

export function checkpointOf(model: LoadBalancerModel): Checkpoint | undefined {
  const lb = model.loadBalancer;
  if (!lb) return undefined;
  const { targetGroups, ...rest } = lb;
  const groups = targetGroups.map(({ targets, ...tg }) => tg);
  const targets = targetGroups.map((tg) => [tg.name, tg.targets]);
  return {
    spec: digest(stableJson([MODEL_VERSION, model.service, rest, groups])).slice(0, 16),
    targets: digest(stableJson(targets)).slice(0, 16),
  };
}

export function formatCheckpoint(c: Checkpoint): string {
  return `v${MODEL_VERSION}.${c.spec}.${c.targets}`;
}

export function parseCheckpoint(text: string | undefined): Checkpoint | undefined {
  const m = /^v(\w+)\.([0-9a-f]{16})\.([0-9a-f]{16})$/.exec(text ?? '');
  if (!m || m[1] !== MODEL_VERSION) return undefined;
  return { spec: m[2]!, targets: m[3]! };
}

/** JSON with object keys sorted, so that equal data always hashes equal. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
