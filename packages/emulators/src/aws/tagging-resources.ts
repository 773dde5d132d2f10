import type { AwsState } from './state';
import type { TagSet } from './tags';

/**
 * The resources the Resource Groups Tagging API sees: every taggable resource of the
 * shared world, read at the moment of the call, with its ARN, `service:type` and its live
 * tag set (so a tag added by ELBv2 AddTags or EC2 CreateTags shows at once, and a deleted
 * resource is gone at once; AWS's index can lag a little either way, see tagging.ts).
 * Listed in creation order (`seq`), which pagination tokens name.
 */
export interface TaggableResource {
  readonly seq: number;
  readonly arn: string;
  /** The ARN's service namespace: `elasticloadbalancing`, `ec2`, `secretsmanager`. */
  readonly service: string;
  /** The ARN's resource type: `loadbalancer` (net/ and app/ alike), `targetgroup`, `security-group`, `secret`… */
  readonly type: string;
  readonly tags: TagSet;
}

/**
 * `service[:type]` strings ResourceTypeFilters may name, by service. For the services the
 * emulator models, every resource type AWS's ARN formats give that service is accepted
 * (the emulator simply has none of most of them); an unknown type of these services is an
 * InvalidParameterException. Other services' names are accepted as a whole service or with
 * any type, and match nothing: the emulator has none of their resources, and refusing a
 * filter AWS takes (`s3`, `rds:db`) would be stricter than AWS.
 */
const MODELLED_TYPES: Readonly<Record<string, ReadonlySet<string>>> = {
  elasticloadbalancing: new Set(['loadbalancer', 'targetgroup', 'listener', 'listener-rule', 'truststore']),
  ec2: new Set([
    'capacity-reservation',
    'carrier-gateway',
    'customer-gateway',
    'dedicated-host',
    'dhcp-options',
    'egress-only-internet-gateway',
    'elastic-gpu',
    'elastic-ip',
    'fleet',
    'fpga-image',
    'host-reservation',
    'image',
    'instance',
    'instance-event-window',
    'internet-gateway',
    'ipam',
    'ipam-pool',
    'ipam-scope',
    'ipv4pool-ec2',
    'ipv6pool-ec2',
    'key-pair',
    'launch-template',
    'local-gateway',
    'natgateway',
    'network-acl',
    'network-insights-analysis',
    'network-insights-path',
    'network-interface',
    'placement-group',
    'prefix-list',
    'replace-root-volume-task',
    'reserved-instances',
    'route-table',
    'security-group',
    'security-group-rule',
    'snapshot',
    'spot-fleet-request',
    'spot-instances-request',
    'subnet',
    'traffic-mirror-filter',
    'traffic-mirror-session',
    'traffic-mirror-target',
    'transit-gateway',
    'transit-gateway-attachment',
    'transit-gateway-connect-peer',
    'transit-gateway-multicast-domain',
    'transit-gateway-policy-table',
    'transit-gateway-route-table',
    'volume',
    'vpc',
    'vpc-endpoint',
    'vpc-endpoint-service',
    'vpc-flow-log',
    'vpc-peering-connection',
    'vpn-connection',
    'vpn-gateway',
  ]),
  secretsmanager: new Set(['secret']),
};

/**
 * Service namespaces of the Resource Groups Tagging API's supported services that the
 * emulator does not model (AWS General Reference, "Amazon Resource Names", and the API
 * reference's "Services that support the Resource Groups Tagging API"; not exhaustive).
 */
const OTHER_SERVICES: ReadonlySet<string> = new Set([
  'acm',
  'acm-pca',
  'apigateway',
  'appmesh',
  'appsync',
  'athena',
  'autoscaling',
  'backup',
  'batch',
  'cloud9',
  'cloudformation',
  'cloudfront',
  'cloudtrail',
  'cloudwatch',
  'codebuild',
  'codecommit',
  'codedeploy',
  'codepipeline',
  'cognito-identity',
  'cognito-idp',
  'config',
  'dms',
  'dynamodb',
  'ecr',
  'ecs',
  'eks',
  'elasticache',
  'elasticbeanstalk',
  'elasticfilesystem',
  'elasticmapreduce',
  'es',
  'events',
  'firehose',
  'fsx',
  'glacier',
  'glue',
  'iam',
  'iot',
  'kafka',
  'kinesis',
  'kinesisanalytics',
  'kms',
  'lambda',
  'logs',
  'mq',
  'network-firewall',
  'rds',
  'redshift',
  'resource-groups',
  'route53',
  'route53resolver',
  's3',
  'sagemaker',
  'servicecatalog',
  'sns',
  'sqs',
  'ssm',
  'states',
  'storagegateway',
  'synthetics',
  'transfer',
  'wafv2',
  'workspaces',
]);

/** Whether `service[:type]` names a resource type AWS knows (see {@link MODELLED_TYPES}). */
export function isKnownResourceType(filter: string): boolean {
  const colon = filter.indexOf(':');
  const service = colon < 0 ? filter : filter.slice(0, colon);
  const type = colon < 0 ? undefined : filter.slice(colon + 1);
  const modelled = Object.hasOwn(MODELLED_TYPES, service) ? MODELLED_TYPES[service] : undefined;
  if (modelled) return type === undefined || modelled.has(type);
  return OTHER_SERVICES.has(service) && type !== '';
}

/** Whether a resource matches one `service[:type]` filter: the whole service, or exactly its type. */
export function matchesResourceType(resource: TaggableResource, filter: string): boolean {
  const colon = filter.indexOf(':');
  if (colon < 0) return resource.service === filter;
  return resource.service === filter.slice(0, colon) && resource.type === filter.slice(colon + 1);
}

/**
 * Every taggable resource the world holds now, in creation order: ELBv2 load balancers,
 * target groups and listeners; EC2 VPCs, subnets, security groups, instances (until
 * terminated) and Elastic IPs; Secrets Manager secrets (until their deletion date).
 * Not listed: security group rules, network interfaces, SQS queues (see README).
 */
export function taggableResources(state: AwsState, now: number): TaggableResource[] {
  const ec2Arn = (type: string, id: string): string => `arn:aws:ec2:${state.region}:${state.accountId}:${type}/${id}`;
  const out: TaggableResource[] = [];
  for (const lb of state.loadBalancers.values()) out.push({ seq: lb.seq, arn: lb.arn, service: 'elasticloadbalancing', type: 'loadbalancer', tags: lb.tags });
  for (const tg of state.targetGroups.values()) out.push({ seq: tg.seq, arn: tg.arn, service: 'elasticloadbalancing', type: 'targetgroup', tags: tg.tags });
  for (const l of state.listeners.values()) out.push({ seq: l.seq, arn: l.arn, service: 'elasticloadbalancing', type: 'listener', tags: l.tags });
  for (const v of state.vpcs.values()) out.push({ seq: v.seq, arn: ec2Arn('vpc', v.id), service: 'ec2', type: 'vpc', tags: v.tags });
  for (const s of state.subnets.values()) out.push({ seq: s.seq, arn: ec2Arn('subnet', s.id), service: 'ec2', type: 'subnet', tags: s.tags });
  for (const g of state.securityGroups.values()) out.push({ seq: g.seq, arn: ec2Arn('security-group', g.id), service: 'ec2', type: 'security-group', tags: g.tags });
  for (const i of state.instances.values()) {
    if (i.state !== 'terminated') out.push({ seq: i.seq, arn: ec2Arn('instance', i.id), service: 'ec2', type: 'instance', tags: i.tags });
  }
  for (const a of state.addresses.values()) out.push({ seq: a.seq, arn: ec2Arn('elastic-ip', a.allocationId), service: 'ec2', type: 'elastic-ip', tags: a.tags });
  for (const secret of state.secrets.values()) {
    if (secret.deletionDate === undefined || secret.deletionDate > now) {
      out.push({ seq: secret.seq, arn: secret.arn, service: 'secretsmanager', type: 'secret', tags: secret.tags });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}
