/**
 * The limits a Service meets, in one place: AWS's quotas and rules that a Service author
 * could otherwise only discover after ferry had spent calls (and left half-made resources)
 * against them, and ferry's own caps on what it will do for one Service. The webhook and
 * the model builder refuse a Service over them up front; the README lists them.
 */

/** AWS quota "Listeners per Network Load Balancer": ferry makes one listener per Service port. */
export const MAX_LISTENERS = 50;

/**
 * The refusal of a Service with more port numbers than one NLB has listeners (TCP and UDP on
 * one number share a listener); undefined when they fit. The webhook and the model builder
 * both say it, so a 1,000-port Service is refused at admission, before any AWS call.
 */
export function listenerLimitProblem(listeners: number): string | undefined {
  return listeners > MAX_LISTENERS
    ? `spec.ports asks for ${listeners} listeners; a Network Load Balancer has at most ${MAX_LISTENERS} listeners (one per port number): serve the other ports with a second Service`
    : undefined;
}

/** AWS: at most 50 user tags per ELBv2 or EC2 resource. */
export const MAX_TAGS_PER_RESOURCE = 50;

/** AWS tag rules (ELBv2 and EC2 share them): keys of 1–128 characters, values of at most 256. */
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

/** AWS's tag character set: letters, digits and spaces in any script, and `_ . : / = + - @`. */
export const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * Tag keys other controllers use to claim resources: a ferry resource carrying one would be
 * taken for theirs (the AWS Load Balancer Controller would adopt or delete it, the cloud
 * provider would count it as its own).
 */
export const FOREIGN_OWNERSHIP_TAGS: ReadonlyArray<{ prefix: string } | { key: string }> = [
  { prefix: 'elbv2.k8s.aws/' },
  { prefix: 'service.k8s.aws/' },
  { prefix: 'ingress.k8s.aws/' },
  { prefix: 'kubernetes.io/cluster/' },
  { key: 'kubernetes.io/service-name' },
  { key: 'KubernetesCluster' },
];

export function isForeignOwnershipTag(key: string): boolean {
  return FOREIGN_OWNERSHIP_TAGS.some((t) => ('key' in t ? key === t.key : key.startsWith(t.prefix)));
}

/**
 * How many load balancer and target group names ferry trusts from a Service's own record
 * (`status.ferry.io/resources`): a replacement in flight needs two load balancers and two
 * target groups per listener; a forged record must not buy thousands of Describe calls.
 */
export const MAX_RECORDED_LOAD_BALANCERS = 4;
export const MAX_RECORDED_TARGET_GROUPS = 2 * MAX_LISTENERS;

/**
 * ELBv2 reads per account and Region share one bucket: 40 tokens, refilled at 10 per second
 * (ELB user guide, "Request throttling for the Elastic Load Balancing API"), and every other
 * tool in the account draws on it too. ferry's deep checks (the per-Service reads a batched
 * sweep cannot do: listeners, attributes, registered targets) are paced to average at most
 * the configured budget, by default one read per second: a tenth of the account's refill.
 */
export const DEFAULT_READ_BUDGET = 1;
