/**
 * A resource is one small description plus optional hooks, mirroring the split of
 * genericregistry.Store (storage semantics, shared) and a per-kind RESTStrategy
 * (defaults, PrepareForCreate/Update, Validate*, Begin* allocation hooks). Adding a kind
 * (e.g. pods) means writing one of these; the registry does the rest.
 */
import type { Schema } from '../decode';
import type { FieldError, StatusError } from '../errors';
import type { KubeObject } from '../json';
import type { ListStrategies } from '../patch';
import type { NameValidator } from '../validation';
import type { IPv4Allocator, PortAllocator, Transaction } from './allocators';

/** Cluster-wide state the strategies may use. */
export interface Cluster {
  readonly serviceIPs: IPv4Allocator;
  readonly nodePorts: PortAllocator;
}

/** A subresource with its own update strategy (status, finalize). */
export interface SubresourceStrategy {
  /** Copies back what this subresource may not change (e.g. `spec` for status). */
  prepareForUpdate(next: KubeObject, prev: KubeObject): void;
  validateUpdate?(next: KubeObject, prev: KubeObject): FieldError[];
}

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Plural resource name as in the URL. */
  readonly resource: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  /** PUT to a missing object creates it (AllowCreateOnUpdate). */
  readonly allowCreateOnUpdate: boolean;
  /** DELETE answers with the deleted object rather than a Status (ReturnDeletedObject). */
  readonly returnDeletedObject?: boolean;
  /** metadata.generation is maintained (set to 1, bumped on non-metadata changes). */
  readonly tracksGeneration?: boolean;
  readonly nameValidator: NameValidator;
  readonly schema: Schema;
  readonly listStrategies?: ListStrategies;
  /** Field selectors beyond metadata.name (and metadata.namespace when namespaced). */
  readonly selectableFields?: Readonly<Record<string, (obj: KubeObject) => string>>;
  readonly subresources?: Readonly<Record<string, SubresourceStrategy>>;

  /** SetDefaults_<Kind>: runs on every decoded body, as the codec defaults on decode. */
  defaults?(obj: KubeObject): void;
  prepareForCreate?(obj: KubeObject): void;
  prepareForUpdate?(next: KubeObject, prev: KubeObject): void;
  validate?(obj: KubeObject): FieldError[];
  validateUpdate?(next: KubeObject, prev: KubeObject): FieldError[];
  /** Allocation before validation (the store's BeginCreate/BeginUpdate hooks). */
  beginCreate?(obj: KubeObject, cluster: Cluster): Transaction;
  beginUpdate?(next: KubeObject, prev: KubeObject, cluster: Cluster): Transaction;
  /** Releases what the object held once it is really gone (AfterDelete). */
  afterDelete?(obj: KubeObject, cluster: Cluster): void;
  /** Finalizers that keep the object after DELETE; defaults to metadata.finalizers. */
  pendingFinalizers?(obj: KubeObject): readonly string[];
  /** Marks an object as being deleted when finalizers keep it (defaults: markAsDeleting). */
  markDeleting?(obj: KubeObject, now: string): void;
  /** Admission-style refusal of a DELETE. */
  validateDelete?(obj: KubeObject): StatusError | undefined;
  /** Go omitempty of fields that strategies may empty. */
  normalize?(obj: KubeObject): void;
}

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** Store bucket id of a resource. */
export function resourceId(rt: ResourceType): string {
  return `${rt.group}/${rt.resource}`;
}

export function storeKey(rt: ResourceType, namespace: string, name: string): string {
  return rt.namespaced ? `${namespace}/${name}` : name;
}

/** The field set a field selector can use (SelectableFields / ObjectMetaFieldsSet). */
export function fieldsOf(rt: ResourceType, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': obj.metadata.name ?? '' };
  if (rt.namespaced) fields['metadata.namespace'] = obj.metadata.namespace ?? '';
  for (const [name, get] of Object.entries(rt.selectableFields ?? {})) fields[name] = get(obj);
  return fields;
}

export function fieldNames(rt: ResourceType): Set<string> {
  const names = new Set(['metadata.name', ...Object.keys(rt.selectableFields ?? {})]);
  if (rt.namespaced) names.add('metadata.namespace');
  return names;
}
