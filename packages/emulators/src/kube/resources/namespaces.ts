/**
 * core/v1 Namespaces (pkg/registry/core/namespace): spec.finalizers is set to
 * ["kubernetes"] on create and only changes through /finalize; DELETE marks the namespace
 * Terminating and the namespace controller (namespace-controller.ts) empties it, then
 * removes the "kubernetes" finalizer, which deletes it. The system namespaces cannot be
 * deleted (NamespaceLifecycle admission).
 */
import { conditionsSchema, listOf, objectMetaSchema, struct } from '../decode';
import { errors, field, go } from '../errors';
import { clone, type KubeObject } from '../json';
import { commonListStrategies } from '../patch';
import { dns1123Label, qualifiedName, validateObjectMeta, validateObjectMetaUpdate } from '../validation';
import type { ResourceType } from './types';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;
const undeletable = new Set(['default', 'kube-system', 'kube-public']);
const NAME_LABEL = 'kubernetes.io/metadata.name';

interface Namespace extends KubeObject {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: unknown[] };
}
const asNamespace = (obj: KubeObject) => obj as Namespace;

export const isTerminating = (ns: KubeObject | undefined) => ns !== undefined && (ns.metadata.deletionTimestamp !== undefined || asNamespace(ns).status?.phase === 'Terminating');

function validateNamespace(obj: KubeObject) {
  const errs = validateObjectMeta(obj.metadata, dns1123Label);
  (asNamespace(obj).spec?.finalizers ?? []).forEach((f, i) => {
    for (const m of qualifiedName(f)) errs.push(field.invalid(`spec.finalizers[${i}]`, go.str(f), m));
  });
  return errs;
}

export const namespaces: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  allowCreateOnUpdate: false,
  nameValidator: dns1123Label,
  schema: struct('Namespace', {
    apiVersion: 'string',
    kind: 'string',
    metadata: objectMetaSchema,
    spec: struct('NamespaceSpec', { finalizers: listOf('string') }),
    status: struct('NamespaceStatus', { phase: 'string', conditions: conditionsSchema }),
  }),
  listStrategies: { ...commonListStrategies, 'status.conditions': { kind: 'merge', keys: ['type'] } },
  selectableFields: {
    'status.phase': (obj) => asNamespace(obj).status?.phase ?? '',
    // Kept by the real server "for backward compatibility".
    name: (obj) => obj.metadata.name ?? '',
  },
  subresources: {
    status: {
      prepareForUpdate(next, prev) {
        next.spec = clone(prev.spec ?? {});
      },
      validateUpdate: (next, prev) => [...validateObjectMetaUpdate(next.metadata, prev.metadata), ...validateNamespace(next)],
    },
    finalize: {
      prepareForUpdate(next, prev) {
        next.status = clone(prev.status ?? {});
      },
      validateUpdate: (next, prev) => [...validateObjectMetaUpdate(next.metadata, prev.metadata), ...validateNamespace(next)],
    },
  },
  defaults(obj) {
    // SetDefaults_Namespace + the strategy's Canonicalize keep the name label in place.
    if (obj.metadata.name) obj.metadata.labels = { ...obj.metadata.labels, [NAME_LABEL]: obj.metadata.name };
    const ns = asNamespace(obj);
    ns.status = { ...ns.status, phase: ns.status?.phase || 'Active' };
  },
  prepareForCreate(obj) {
    const ns = asNamespace(obj);
    ns.spec = { finalizers: ['kubernetes'] };
    ns.status = { phase: 'Active' };
    if (obj.metadata.name) obj.metadata.labels = { ...obj.metadata.labels, [NAME_LABEL]: obj.metadata.name };
  },
  prepareForUpdate(next, prev) {
    const ns = asNamespace(next);
    ns.spec = { ...ns.spec, finalizers: clone(asNamespace(prev).spec?.finalizers ?? []) };
    ns.status = clone(asNamespace(prev).status ?? {});
  },
  validate: validateNamespace,
  validateUpdate: (next, prev) => [...validateObjectMetaUpdate(next.metadata, prev.metadata), ...validateNamespace(next)],
  pendingFinalizers: (obj) => [...(obj.metadata.finalizers ?? []), ...(asNamespace(obj).spec?.finalizers ?? [])],
  markDeleting(obj, now) {
    obj.metadata.deletionTimestamp ??= now;
    const ns = asNamespace(obj);
    ns.status = { ...ns.status, phase: 'Terminating' };
  },
  validateDelete(obj) {
    const name = obj.metadata.name ?? '';
    return undeletable.has(name) ? errors.forbidden({ group: '', name: 'namespaces' }, name, 'this namespace may not be deleted') : undefined;
  },
  normalize(obj) {
    const spec = asNamespace(obj).spec;
    if (spec && spec.finalizers?.length === 0) delete spec.finalizers;
  },
};

