import type { Target } from './types';

/** The one order targets are kept in, desired and observed alike: by id, then port. */
export function compareTargets(a: Target, b: Target): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : a.port - b.port;
}
