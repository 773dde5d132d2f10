/**
 * genericregistry.Store plus the rest.BeforeCreate/BeforeUpdate rules, shared by every
 * resource (k8s.io/apiserver/pkg/registry/generic/registry/store.go, pkg/registry/rest):
 *
 * - create: system fields (uid, creationTimestamp) and generateName first, then the
 *   resource's allocation hook, PrepareForCreate, validation, and only then AlreadyExists
 *   ("object is being deleted: ..." when the old one is still finalizing); a positive
 *   metadata.resourceVersion is refused like etcd3 does (bare 500).
 * - update (PUT, PATCH, subresources): a non-empty metadata.resourceVersion is a
 *   precondition (409 Conflict with OptimisticLockErrorMsg), an empty one is unconditional;
 *   uid/creationTimestamp/deletionTimestamp survive; a write that changes nothing stores
 *   nothing (no new resourceVersion, no event), like etcd3's GuaranteedUpdate.
 * - finalizers: DELETE of an object with finalizers sets deletionTimestamp and
 *   deletionGracePeriodSeconds=0 (markAsDeleting) and keeps it; the update that removes the
 *   last finalizer deletes it instead of storing it (ShouldDeleteDuringUpdate), answering
 *   with the request's object while watchers get DELETED with the last stored state.
 * - namespaced creates pass NamespaceLifecycle admission (404 for a missing namespace,
 *   403 for a terminating one).
 */
import { randomUUID } from 'node:crypto';
import { decodeInto } from './decode';
import { errors, type FieldError, type Status, StatusError, successStatus } from './errors';
import { clone, deepEqual, dropEmpty, isObject, type JsonObject, type KubeObject, orderKeys } from './json';
import { applyPatch } from './patch';
import { noTransaction, type Transaction } from './resources/allocators';
import { namespaces } from './resources/namespaces';
import { apiVersionOf, type Cluster, type ResourceType, resourceId, storeKey } from './resources/types';
import type { ObjectStore } from './store';

export const OPTIMISTIC_LOCK_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

export interface WriteOptions {
  dryRun?: boolean;
  subresource?: string;
}

export interface DeleteOptions {
  dryRun?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export const qualifiedResource = (rt: ResourceType) => ({ group: rt.group, name: rt.resource });
export const qualifiedKind = (rt: ResourceType) => ({ group: rt.group, name: rt.kind });

/** metav1.Time: RFC 3339 in UTC with second precision. */
export const timestamp = (date = new Date()) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
function generateName(base: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_CHARS.charAt(Math.floor(Math.random() * NAME_CHARS.length));
  return base.slice(0, 58) + suffix;
}

const META_ORDER = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers'];

export class Registry {
  constructor(
    readonly store: ObjectStore,
    readonly cluster: Cluster,
  ) {}

  get(rt: ResourceType, namespace: string, name: string): KubeObject {
    const obj = this.store.get(resourceId(rt), storeKey(rt, namespace, name));
    if (!obj) throw errors.notFound(qualifiedResource(rt), name);
    return obj;
  }

  create(rt: ResourceType, namespace: string, body: unknown, opts: WriteOptions = {}): KubeObject {
    const obj = this.decode(rt, body);
    const meta = obj.metadata;
    const rv = Number(meta.resourceVersion ?? '0');
    if (Number.isInteger(rv) && rv > 0) throw errors.bare500('resourceVersion should not be set on objects to be created');
    delete meta.resourceVersion;
    this.ensureNamespace(rt, namespace, obj);
    this.admitCreate(rt, namespace, meta.name ?? '');
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (rt.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    if (meta.generateName && !meta.name) meta.name = this.freeName(rt, namespace, meta.generateName);

    const txn = rt.beginCreate?.(obj, this.cluster) ?? noTransaction;
    return this.finish(txn, opts, () => {
      rt.prepareForCreate?.(obj);
      this.validateOrThrow(rt, obj, rt.validate?.(obj) ?? []);
      const key = storeKey(rt, namespace, meta.name ?? '');
      const existing = this.store.get(resourceId(rt), key);
      if (existing) {
        const err = errors.alreadyExists(qualifiedResource(rt), meta.name ?? '');
        if (existing.metadata.deletionTimestamp) err.status.message = `object is being deleted: ${err.status.message}`;
        throw err;
      }
      const ready = this.prepareForStorage(rt, obj);
      return opts.dryRun ? ready : this.store.create(resourceId(rt), key, ready);
    });
  }

  /** PUT. Creates when the resource allows it and the object is missing. */
  update(rt: ResourceType, namespace: string, name: string, body: unknown, opts: WriteOptions = {}): { object: KubeObject; created: boolean } {
    const existing = this.store.get(resourceId(rt), storeKey(rt, namespace, name));
    if (!existing) {
      if (opts.subresource || !rt.allowCreateOnUpdate) throw errors.notFound(qualifiedResource(rt), name);
      const candidate = isObject(body) && isObject(body.metadata) ? body.metadata.name : undefined;
      if (candidate !== name) throw errors.badRequest(`the name of the object (${candidate ?? ''}) does not match the name on the URL (${name})`);
      return { object: this.create(rt, namespace, body, opts), created: true };
    }
    const obj = this.decode(rt, body);
    this.checkName(rt, namespace, name, obj);
    return { object: this.applyUpdate(rt, existing, obj, opts), created: false };
  }

  patch(rt: ResourceType, namespace: string, name: string, contentType: string, patch: unknown, opts: WriteOptions = {}): KubeObject {
    const existing = this.get(rt, namespace, name);
    const patched = applyPatch(contentType, clone(existing) as unknown as JsonObject, patch, rt.listStrategies ?? {});
    const obj = this.decode(rt, patched);
    this.checkName(rt, namespace, name, obj);
    return this.applyUpdate(rt, existing, obj, opts);
  }

  delete(rt: ResourceType, namespace: string, name: string, opts: DeleteOptions = {}): KubeObject | Status {
    const existing = this.get(rt, namespace, name);
    const refused = rt.validateDelete?.(existing);
    if (refused) throw refused;
    const pre = opts.preconditions ?? {};
    const precondition = (what: string, wanted: string | undefined, actual: string | undefined) => {
      if (wanted !== undefined && wanted !== actual) {
        throw errors.conflict(qualifiedResource(rt), name, `Precondition failed: ${what} in precondition: ${wanted}, ${what} in object meta: ${actual ?? ''}`);
      }
    };
    precondition('UID', pre.uid, existing.metadata.uid);
    precondition('ResourceVersion', pre.resourceVersion, existing.metadata.resourceVersion);

    if (this.pendingFinalizers(rt, existing).length > 0) {
      if (existing.metadata.deletionTimestamp) return existing;
      const next = clone(existing);
      this.markDeleting(rt, next);
      return opts.dryRun ? next : this.store.update(resourceId(rt), storeKey(rt, namespace, name), this.prepareForStorage(rt, next));
    }
    if (opts.dryRun) return rt.returnDeletedObject ? existing : successStatus(qualifiedResource(rt), name, existing.metadata.uid);
    const last = this.remove(rt, existing);
    return rt.returnDeletedObject ? last : successStatus(qualifiedResource(rt), name, last.metadata.uid);
  }

  // -------------------------------------------------------------------------------------

  private applyUpdate(rt: ResourceType, existing: KubeObject, obj: KubeObject, opts: WriteOptions): KubeObject {
    const meta = obj.metadata;
    const previous = existing.metadata;
    if (meta.resourceVersion) {
      if (!/^\d+$/.test(meta.resourceVersion)) throw errors.badRequest(`invalid resource version: ${meta.resourceVersion}`);
      if (meta.resourceVersion !== previous.resourceVersion) throw errors.conflict(qualifiedResource(rt), previous.name ?? '', OPTIMISTIC_LOCK_MESSAGE);
    } else {
      meta.resourceVersion = previous.resourceVersion;
    }
    const sub = opts.subresource ? rt.subresources?.[opts.subresource] : undefined;
    if (opts.subresource && !sub) throw errors.pathNotFound();
    const old = clone(existing);
    const txn = (!sub && rt.beginUpdate?.(obj, old, this.cluster)) || noTransaction;

    return this.finish(txn, opts, () => {
      // rest.BeforeUpdate
      if (previous.generation !== undefined) meta.generation = previous.generation;
      else delete meta.generation;
      if (sub) sub.prepareForUpdate(obj, old);
      else rt.prepareForUpdate?.(obj, old);
      meta.uid ||= previous.uid;
      meta.creationTimestamp = previous.creationTimestamp;
      if (previous.deletionTimestamp) meta.deletionTimestamp = previous.deletionTimestamp;
      else delete meta.deletionTimestamp;
      if (previous.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds ??= previous.deletionGracePeriodSeconds;
      const validate = sub ? sub.validateUpdate : rt.validateUpdate;
      this.validateOrThrow(rt, obj, validate?.(obj, old) ?? []);
      const ready = this.prepareForStorage(rt, obj);
      if (rt.tracksGeneration && !sameSpec(ready, existing)) ready.metadata.generation = (previous.generation ?? 0) + 1;
      if (previous.deletionTimestamp && this.pendingFinalizers(rt, ready).length === 0 && !previous.deletionGracePeriodSeconds) {
        // ShouldDeleteDuringUpdate: the update is not stored; the object goes instead.
        txn.revert();
        if (!opts.dryRun) this.remove(rt, existing);
        return ready;
      }
      if (deepEqual(ready, existing)) return existing;
      return opts.dryRun ? ready : this.store.update(resourceId(rt), storeKey(rt, previous.namespace ?? '', previous.name ?? ''), ready);
    });
  }

  /** Runs the storage step of a write and finishes its allocation transaction accordingly. */
  private finish(txn: Transaction, opts: WriteOptions, write: () => KubeObject): KubeObject {
    let result: KubeObject;
    try {
      result = write();
    } catch (err) {
      txn.revert();
      throw err;
    }
    if (opts.dryRun) txn.revert();
    else txn.commit();
    return result;
  }

  /** Removes an object for good and runs the resource's AfterDelete hook. */
  private remove(rt: ResourceType, existing: KubeObject): KubeObject {
    const key = storeKey(rt, existing.metadata.namespace ?? '', existing.metadata.name ?? '');
    const last = this.store.delete(resourceId(rt), key) ?? existing;
    rt.afterDelete?.(last, this.cluster);
    return last;
  }

  private pendingFinalizers(rt: ResourceType, obj: KubeObject): readonly string[] {
    return rt.pendingFinalizers ? rt.pendingFinalizers(obj) : (obj.metadata.finalizers ?? []);
  }

  /** markAsDeleting (or the resource's own variant, e.g. a namespace turning Terminating). */
  private markDeleting(rt: ResourceType, obj: KubeObject): void {
    const meta = obj.metadata;
    if (rt.tracksGeneration && !meta.deletionTimestamp && (meta.generation ?? 0) > 0) meta.generation = (meta.generation ?? 0) + 1;
    if (rt.markDeleting) return rt.markDeleting(obj, timestamp());
    meta.deletionTimestamp ??= timestamp();
    meta.deletionGracePeriodSeconds = 0;
  }

  private decode(rt: ResourceType, body: unknown): KubeObject {
    const obj = decodeInto(body, rt.schema, rt.kind, rt.version) as KubeObject;
    const apiVersion = apiVersionOf(rt);
    if ((obj.kind !== undefined && obj.kind !== rt.kind) || (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion)) {
      throw errors.badRequest(`the object provided is unrecognized (must be of type ${rt.kind}): ${obj.apiVersion ?? ''}, Kind=${obj.kind ?? ''} is not ${apiVersion}, Kind=${rt.kind}`);
    }
    if (!isObject(obj.metadata)) obj.metadata = {};
    rt.defaults?.(obj);
    return obj;
  }

  /** EnsureObjectNamespaceMatchesRequestNamespace. */
  private ensureNamespace(rt: ResourceType, namespace: string, obj: KubeObject): void {
    const meta = obj.metadata;
    if (!rt.namespaced) {
      delete meta.namespace;
      return;
    }
    if (meta.namespace && meta.namespace !== namespace) throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta.namespace = namespace;
  }

  private checkName(rt: ResourceType, namespace: string, name: string, obj: KubeObject): void {
    const meta = obj.metadata;
    if (meta.name !== name) throw errors.badRequest(`the name of the object (${meta.name ?? ''}) does not match the name on the URL (${name})`);
    if (rt.namespaced && meta.namespace && meta.namespace !== namespace) {
      throw errors.badRequest(`the namespace of the object (${meta.namespace}) does not match the namespace on the request (${namespace})`);
    }
    this.ensureNamespace(rt, namespace, obj);
  }

  /** NamespaceLifecycle admission for creates of namespaced objects. */
  private admitCreate(rt: ResourceType, namespace: string, name: string): void {
    if (!rt.namespaced) return;
    const ns = this.store.get(resourceId(namespaces), namespace);
    if (!ns) throw errors.notFound(qualifiedResource(namespaces), namespace);
    if (ns.metadata.deletionTimestamp) {
      throw errors.forbidden(qualifiedResource(rt), name, `unable to create new content in namespace ${namespace} because it is being terminated`, [
        { reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' },
      ]);
    }
  }

  private freeName(rt: ResourceType, namespace: string, base: string): string {
    // Like the RetryGenerateName behaviour: a clash with an existing name draws again.
    for (;;) {
      const name = generateName(base);
      if (!this.store.get(resourceId(rt), storeKey(rt, namespace, name))) return name;
    }
  }

  private validateOrThrow(rt: ResourceType, obj: KubeObject, errs: FieldError[]): void {
    if (errs.length > 0) throw errors.invalid(qualifiedKind(rt), obj.metadata.name ?? '', errs);
  }

  /** Type meta, Go omitempty and field order, so the stored object is what the wire shows. */
  private prepareForStorage(rt: ResourceType, obj: KubeObject): KubeObject {
    rt.normalize?.(obj);
    dropEmpty(obj.metadata, ['labels', 'annotations', 'finalizers', 'ownerReferences', 'generateName']);
    delete obj.metadata.selfLink;
    delete obj.metadata.managedFields;
    const ordered = orderKeys({ ...obj, kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: orderKeys(obj.metadata, META_ORDER) }, ['kind', 'apiVersion', 'metadata', 'spec', 'status']);
    return ordered;
  }
}

/** What the endpointslice strategy compares to bump generation: everything but metadata, plus labels. */
function sameSpec(a: KubeObject, b: KubeObject): boolean {
  const { metadata: metaA, ...restA } = a;
  const { metadata: metaB, ...restB } = b;
  return deepEqual(restA, restB) && deepEqual(metaA.labels ?? {}, metaB.labels ?? {});
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}
