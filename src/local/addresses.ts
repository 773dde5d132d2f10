/**
 * The playground's address plan. AWS speaks of VPC addresses (node-0 is 10.10.0.4); a laptop
 * without root has only 127/8, where every address is local and needs no setup. So a run of
 * the playground takes a VPC 10.<b>.0.0/16 and its loopback twin 127.<b>.0.0/16 (b is 10
 * unless another run holds it): each node lives on the twin of its VPC address (10.10.0.4 →
 * 127.10.0.4) and the data plane's address map sends the NLB's traffic for 10.10.0.4 there;
 * node k's pods live on 127.<b>.<200+k>.<n>, the twin of a pod CIDR; the NLB's nodes listen
 * in 127.<b>.128.0/17. Two runs on one machine (two engineers, two test files) never meet.
 * With `--kernel` the nodes and pods are network namespaces holding the VPC and pod
 * addresses themselves.
 */

/** Both the HTTP server (TCP) and the echo server (UDP) of every pod listen here. */
export const POD_PORT = 8080;

/** The loopback twin of a VPC address: the first octet becomes 127. */
export function loopbackOf(vpcIp: string): string {
  const octets = vpcIp.split('.');
  if (octets.length !== 4) throw new TypeError(`not an IPv4 address: '${vpcIp}'`);
  return ['127', ...octets.slice(1)].join('.');
}

/** The n-th pod (from 0) on node `node` when pods live on loopback, in the run's 127.<b>.0.0/16. */
export function loopbackPodAddress(base: number, node: number, n: number): string {
  if (n > 252 || node > 55) throw new RangeError(`node ${node} runs too many pods, or there are too many nodes, for 127.${base}.200.0/21`);
  return `127.${base}.${200 + node}.${n + 2}`;
}

/** Where a loopback run's NLB nodes listen (the data plane's `addressPool`). */
export function loopbackNlbPool(base: number): string {
  return `127.${base}.128.0/17`;
}

/** The n-th pod on node `node` in a namespace: a /30 per pod, the node's end first, as topology.ts lays them out. */
export function namespacePodAddress(node: number, n: number): { ip: string; gateway: string } {
  if (n > 62) throw new RangeError(`node ${node} runs too many pods for its /24`);
  return { gateway: `10.244.${node}.${4 * n + 1}`, ip: `10.244.${node}.${4 * n + 2}` };
}

/** A node's pod CIDR in namespaces. */
export function podCidr(node: number): string {
  return `10.244.${node}.0/24`;
}

/**
 * NLB listeners below 1024 need root; the playground moves them up by 8000 (80 → 8080) so
 * the same commands work for everyone. The NLB still says 80; only the local socket moves.
 */
export function playgroundListenPort(port: number): number {
  return port < 1024 ? port + 8000 : port;
}
