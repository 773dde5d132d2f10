/**
 * discovery.k8s.io/v1 EndpointSlices (pkg/apis/discovery/validation, the endpointslice
 * strategy): stored as given; generation starts at 1 and grows with every non-metadata
 * change; addressType is required, one of IPv4/IPv6/FQDN, and immutable.
 *
 * Deliberate difference: the real server also refuses loopback, link-local and unspecified
 * endpoint addresses (ValidateNonSpecialIP). The emulator accepts them so `ferry local`
 * can point a slice at processes on 127.0.0.1.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { listOf, objectMetaSchema, struct } from '../decode';
import { type FieldError, field, go } from '../errors';
import type { KubeObject } from '../json';
import { dns1123Label, dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate, validPortNum } from '../validation';
import type { ResourceType } from './types';

interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: { addresses?: string[]; hostname?: string }[];
  ports?: { name?: string; protocol?: string; port?: number }[];
}
const asSlice = (obj: KubeObject) => obj as EndpointSlice;

const addressTypes = ['FQDN', 'IPv4', 'IPv6'];
const protocols = ['SCTP', 'TCP', 'UDP'];

function validateSlice(slice: EndpointSlice, validTypes: readonly string[]): FieldError[] {
  const errs = validateObjectMeta(slice.metadata, dns1123Subdomain);
  const type = slice.addressType ?? '';
  if (!type) errs.push(field.required('addressType'));
  else if (!validTypes.includes(type)) errs.push(field.notSupported('addressType', go.str(type), validTypes));

  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > 1000) return [...errs, field.tooMany('endpoints', endpoints.length, 1000)];
  endpoints.forEach((ep, i) => {
    const path = `endpoints[${i}].addresses`;
    const addresses = ep.addresses ?? [];
    if (addresses.length === 0) errs.push(field.required(path, 'must contain at least 1 address'));
    else if (addresses.length > 100) errs.push(field.tooMany(path, addresses.length, 100));
    addresses.forEach((address, j) => {
      if (type === 'IPv4' && !isIPv4(address)) errs.push(field.invalid(`${path}[${j}]`, go.str(address), 'must be a valid IPv4 address'));
      if (type === 'IPv6' && !isIPv6(address)) errs.push(field.invalid(`${path}[${j}]`, go.str(address), 'must be a valid IPv6 address'));
      if (type === 'FQDN') for (const m of dns1123Subdomain(address)) errs.push(field.invalid(`${path}[${j}]`, go.str(address), m));
    });
    if (ep.hostname !== undefined) for (const m of dns1123Label(ep.hostname)) errs.push(field.invalid(`endpoints[${i}].hostname`, go.str(ep.hostname), m));
  });

  const ports = slice.ports ?? [];
  if (ports.length > 100) return [...errs, field.tooMany('ports', ports.length, 100)];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const name = p.name ?? '';
    if (name) for (const m of dns1123Label(name)) errs.push(field.invalid(`ports[${i}].name`, go.str(name), m));
    if (names.has(name)) errs.push(field.duplicate(`ports[${i}].name`, go.str(name)));
    names.add(name);
    if (!p.protocol) errs.push(field.required(`ports[${i}].protocol`));
    else if (!protocols.includes(p.protocol)) errs.push(field.notSupported(`ports[${i}].protocol`, go.str(p.protocol), protocols));
    if (p.port !== undefined) for (const m of validPortNum(p.port)) errs.push(field.invalid(`ports[${i}].port`, go.num(p.port), m));
  });
  return errs;
}

export const endpointSlices: ResourceType = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  resource: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  allowCreateOnUpdate: true,
  tracksGeneration: true,
  nameValidator: dns1123Subdomain,
  schema: struct('EndpointSlice', {
    apiVersion: 'string',
    kind: 'string',
    metadata: objectMetaSchema,
    addressType: 'string',
    endpoints: listOf(
      struct('Endpoint', {
        addresses: listOf('string'),
        conditions: struct('EndpointConditions', { ready: 'bool', serving: 'bool', terminating: 'bool' }),
        hostname: 'string',
        nodeName: 'string',
        zone: 'string',
        targetRef: 'object',
        hints: 'object',
      }),
    ),
    ports: listOf(struct('EndpointPort', { name: 'string', protocol: 'string', port: 'int32', appProtocol: 'string' })),
  }),
  defaults(obj) {
    // SetDefaults_EndpointPort.
    for (const port of asSlice(obj).ports ?? []) {
      port.name ??= '';
      port.protocol ??= 'TCP';
    }
  },
  validate: (obj) => validateSlice(asSlice(obj), addressTypes),
  validateUpdate(next, prev) {
    const errs = [...validateObjectMetaUpdate(next.metadata, prev.metadata), ...validateSlice(asSlice(next), [...addressTypes, 'IP'])];
    const before = asSlice(prev).addressType ?? '';
    const after = asSlice(next).addressType ?? '';
    if (before !== after) errs.push(field.immutable('addressType', go.str(after)));
    return errs;
  },
};
