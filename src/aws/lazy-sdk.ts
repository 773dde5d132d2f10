import type * as Ec2 from '@aws-sdk/client-ec2';
import type * as Tagging from '@aws-sdk/client-resource-groups-tagging-api';

let sdk: typeof Ec2 | undefined;

/**
 * `@aws-sdk/client-ec2`, loaded on first use. The EC2 client models the whole EC2 API and
 * takes ~140 ms to load, more than everything else in the reconciler together; ferry makes
 * six EC2 calls, none of them on the common paths (an unchanged Service, a node change).
 * Loading it when a reconcile first needs it keeps cold starts short.
 */
export function ec2Sdk(): typeof Ec2 {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdk ??= require('@aws-sdk/client-ec2') as typeof Ec2;
  return sdk;
}

let tagging: typeof Tagging | undefined;

/** The Resource Groups Tagging API, loaded on first use for the same reason: only the resync needs it. */
export function taggingSdk(): typeof Tagging {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  tagging ??= require('@aws-sdk/client-resource-groups-tagging-api') as typeof Tagging;
  return tagging;
}
