import type * as Ec2 from '@aws-sdk/client-ec2';

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
