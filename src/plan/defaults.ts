/**
 * AWS's defaults for the attributes ferry manages. A new resource gets a
 * Modify*Attributes call only for values that differ from these.
 */
export const LOAD_BALANCER_DEFAULTS: Readonly<Record<string, string>> = {
  'deletion_protection.enabled': 'false',
  'load_balancing.cross_zone.enabled': 'false',
};

export const TARGET_GROUP_DEFAULTS: Readonly<Record<string, string>> = {
  'deregistration_delay.timeout_seconds': '300',
  'proxy_protocol_v2.enabled': 'false',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
};

/** AWS's documented ceiling is generous; 200 per call keeps requests small and retries cheap. */
export const TARGETS_PER_CALL = 200;
