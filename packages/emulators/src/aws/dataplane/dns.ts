import { lookup as systemLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AwsState, LoadBalancer } from '../state';
import type { AddressBook } from './addresses';
import type { Router } from './router';

/**
 * What Route 53 answers for an NLB's DNS name: one address per enabled zone, minus the
 * zones whose target groups fall below the DNS failover threshold
 * (`target_group_health.dns_failover.minimum_healthy_targets.count`, default 1: "if
 * target groups don't have a healthy target in an enabled Availability Zone, we remove
 * the IP address for the corresponding subnet from DNS"). When no zone is healthy, every
 * zone is answered (Route 53 fails open). A load balancer without listeners answers all.
 */
export function findByDnsName(state: AwsState, name: string): LoadBalancer | undefined {
  const wanted = name.toLowerCase().replace(/\.$/, '');
  return [...state.loadBalancers.values()].find((lb) => lb.dnsName.toLowerCase() === wanted);
}

export function answer(state: AwsState, addresses: AddressBook, router: Router, lb: LoadBalancer): string[] {
  const slots = lb.subnets.map((s) => addresses.node(lb, s.subnetId));
  const groups = [...new Set(state.listenersOf(lb.arn).map((l) => l.targetGroupArn))].map((arn) => state.targetGroups.get(arn)).filter((tg) => tg !== undefined);
  const healthy = slots.filter((slot) => groups.every((tg) => router.zoneHealthyInDns(lb, tg, slot.node.availabilityZone)));
  return (healthy.length > 0 ? healthy : slots).map((slot) => slot.address);
}

type Callback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect`, `tls.connect` and `http.request` that resolves NLB DNS
 * names through {@link answer} and everything else through the system resolver.
 */
export function lookupFunction(resolve: (name: string) => string[] | undefined): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: Callback): void => {
    const addresses = resolve(hostname);
    if (!addresses) {
      (systemLookup as unknown as (name: string, opts: object, cb: Callback) => void)(hostname, options, callback);
      return;
    }
    process.nextTick(() => {
      if (addresses.length === 0) {
        const error: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        callback(error, options.all ? [] : '', 4);
      } else if (options.all) callback(null, addresses.map((address) => ({ address, family: 4 })));
      else callback(null, addresses[0]!, 4);
    });
  };
}
