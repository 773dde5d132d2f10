/**
 * Where the userspace proxy's connections to endpoints come from. By default the kernel
 * picks (the node's address towards the endpoint), as kube-proxy's userspace mode did, so
 * the pod never sees the client.
 *
 * `loopback` is for several agents sharing one host, each on a loopback address of its own
 * (`ferry local`): every address in 127/8 is this host's, so a process may send from any
 * of them without root. A proxied connection then comes from the node address the client
 * reached (what a masquerade shows the pod), and for externalTrafficPolicy Local from the
 * client's own address, which the pod sees as it would in the kernel modes. Anything not
 * on loopback at both ends is left to the kernel.
 */
export type SourceMode = 'kernel' | 'loopback';

/** The source address for a connection from `client` to `endpoint`; undefined lets the kernel choose. */
export type SourceChoice = (client: string, endpoint: string) => string | undefined;

const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export function isLoopbackV4(address: string): boolean {
  return LOOPBACK_V4.test(address);
}

/** The choice for one listener bound on `listenerAddress`; `keepClient` for externalTrafficPolicy Local. */
export function sourceChoice(mode: SourceMode, listenerAddress: string, keepClient: boolean): SourceChoice | undefined {
  if (mode === 'kernel') return undefined;
  return (client, endpoint) => {
    if (!isLoopbackV4(endpoint)) return undefined;
    const from = client.replace(/^::ffff:/i, '');
    if (keepClient && isLoopbackV4(from)) return from;
    return isLoopbackV4(listenerAddress) ? listenerAddress : undefined;
  };
}
