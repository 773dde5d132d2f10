/**
 * core/v1 Nodes (pkg/registry/core/node/strategy.go): cluster-scoped; status may be set on
 * create (kubelets register that way) but only through /status afterwards; providerID and
 * podCIDRs may only go from unset to set (ValidateNodeUpdate). Taint errors carry the
 * `metadata.taints` path the real validator uses.
 */
import { conditionsSchema, listOf, mapOf, objectMetaSchema, struct } from '../decode';
import { type FieldError, field, go } from '../errors';
import { clone, isObject, type KubeObject } from '../json';
import { commonListStrategies } from '../patch';
import { cidrErrors, dns1123Subdomain, labelValue, qualifiedName, validateObjectMeta, validateObjectMetaUpdate } from '../validation';
import type { ResourceType } from './types';

interface Taint {
  key?: string;
  value?: string;
  effect?: string;
}
interface NodeAddress {
  type?: string;
  address?: string;
}
interface Node extends KubeObject {
  spec?: { providerID?: string; podCIDRs?: string[]; unschedulable?: boolean; taints?: Taint[] };
  status?: { addresses?: NodeAddress[]; capacity?: Record<string, unknown>; allocatable?: Record<string, unknown> };
}

const asNode = (obj: KubeObject) => obj as Node;
const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const notChangeable = 'node updates may not change podCIDR except from "" to valid';

const nodeSchema = struct('Node', {
  apiVersion: 'string',
  kind: 'string',
  metadata: objectMetaSchema,
  spec: struct('NodeSpec', {
    providerID: 'string',
    podCIDR: 'string',
    podCIDRs: listOf('string'),
    unschedulable: 'bool',
    taints: listOf(struct('Taint', { key: 'string', value: 'string', effect: 'string', timeAdded: 'time' })),
  }),
  status: struct('NodeStatus', {
    addresses: listOf(struct('NodeAddress', { type: 'string', address: 'string' })),
    conditions: conditionsSchema,
    capacity: mapOf('intOrString'),
    allocatable: mapOf('intOrString'),
  }),
});

function validateNode(node: Node): FieldError[] {
  const errs = validateObjectMeta(node.metadata, dns1123Subdomain);
  const unique = new Set<string>();
  (node.spec?.taints ?? []).forEach((taint, i) => {
    const at = `metadata.taints[${i}]`;
    const key = taint.key ?? '';
    for (const m of qualifiedName(key)) errs.push(field.invalid(`${at}.key`, go.str(key), m));
    const valueErrs = labelValue(taint.value ?? '');
    if (valueErrs.length) errs.push(field.invalid(`${at}.value`, go.str(taint.value ?? ''), valueErrs.join(';')));
    if (!taint.effect) errs.push(field.required(`${at}.effect`));
    else if (!taintEffects.includes(taint.effect)) errs.push(field.notSupported(`${at}.effect`, go.str(taint.effect), taintEffects));
    const id = `${taint.effect}\u0000${key}`;
    if (unique.has(id)) {
      const value = `core.Taint{Key:${go.str(key)}, Value:${go.str(taint.value ?? '')}, Effect:${go.str(taint.effect ?? '')}, TimeAdded:(*v1.Time)(nil)}`;
      errs.push({ ...field.duplicate(at, value), detail: 'taints must be unique by key and effect pair' });
    }
    unique.add(id);
  });
  (node.spec?.podCIDRs ?? []).forEach((cidr, i) => errs.push(...cidrErrors(`spec.podCIDRs[${i}]`, cidr)));
  return errs;
}

function validateNodeUpdate(node: Node, old: Node): FieldError[] {
  const errs = [...validateObjectMetaUpdate(node.metadata, old.metadata), ...validateNode(node)];
  const seen = new Set<string>();
  (node.status?.addresses ?? []).forEach((a, i) => {
    const id = `${a.type}\u0000${a.address}`;
    if (seen.has(id)) errs.push(field.duplicate(`status.addresses[${i}]`, `core.NodeAddress{Type:${go.str(a.type ?? '')}, Address:${go.str(a.address ?? '')}}`));
    seen.add(id);
  });
  const oldCIDRs = old.spec?.podCIDRs ?? [];
  const newCIDRs = node.spec?.podCIDRs ?? [];
  if (oldCIDRs.length > 0) {
    if (oldCIDRs.length !== newCIDRs.length) errs.push(field.forbidden('spec.podCIDRs', notChangeable));
    else oldCIDRs.forEach((c, i) => c !== newCIDRs[i] && errs.push(field.forbidden(`spec.podCIDRs[${i}]`, notChangeable)));
  }
  const oldID = old.spec?.providerID ?? '';
  if (oldID && oldID !== (node.spec?.providerID ?? '')) {
    errs.push(field.forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

export const nodes: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Node',
  resource: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  allowCreateOnUpdate: false,
  nameValidator: dns1123Subdomain,
  schema: nodeSchema,
  listStrategies: {
    ...commonListStrategies,
    'status.conditions': { kind: 'merge', keys: ['type'] },
    'status.addresses': { kind: 'merge', keys: ['type'] },
  },
  selectableFields: { 'spec.unschedulable': (obj) => String(asNode(obj).spec?.unschedulable ?? false) },
  subresources: {
    status: {
      prepareForUpdate(next, prev) {
        next.spec = clone(prev.spec ?? {});
      },
      validateUpdate: (next, prev) => validateNodeUpdate(asNode(next), asNode(prev)),
    },
  },
  defaults(obj) {
    // SetDefaults_NodeStatus: allocatable defaults to capacity.
    const status = asNode(obj).status;
    if (status && isObject(status.capacity) && status.allocatable === undefined) status.allocatable = clone(status.capacity);
  },
  prepareForUpdate(next, prev) {
    next.status = clone(prev.status ?? {});
  },
  validate: (obj) => validateNode(asNode(obj)),
  validateUpdate: (next, prev) => validateNodeUpdate(asNode(next), asNode(prev)),
};
