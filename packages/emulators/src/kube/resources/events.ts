/**
 * core/v1 Events (pkg/registry/core/event): stored as given, selectable by the fields the
 * real server exposes (involvedObject.*, reason, source, type...), with the legacy rule
 * that an Event lives in its involved object's namespace.
 */
import { objectMetaSchema, struct } from '../decode';
import { field, go } from '../errors';
import type { KubeObject } from '../json';
import { dns1123Subdomain, validateObjectMeta, validateObjectMetaUpdate } from '../validation';
import type { ResourceType } from './types';

interface Event extends KubeObject {
  involvedObject?: Record<string, string | undefined>;
  reason?: string;
  type?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}
const asEvent = (obj: KubeObject) => obj as Event;
const involved = (key: string) => (obj: KubeObject) => asEvent(obj).involvedObject?.[key] ?? '';

function validateEvent(obj: KubeObject) {
  const errs = validateObjectMeta(obj.metadata, dns1123Subdomain);
  const namespace = obj.metadata.namespace ?? '';
  const target = asEvent(obj).involvedObject?.namespace ?? '';
  const ok = target === '' ? namespace === '' || namespace === 'default' : namespace === target;
  if (!ok) errs.push(field.invalid('involvedObject.namespace', go.str(target), 'does not match event.namespace'));
  return errs;
}

const objectReference = struct('ObjectReference', {
  kind: 'string',
  namespace: 'string',
  name: 'string',
  uid: 'string',
  apiVersion: 'string',
  resourceVersion: 'string',
  fieldPath: 'string',
});

export const events: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Event',
  resource: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  allowCreateOnUpdate: true,
  nameValidator: dns1123Subdomain,
  schema: struct('Event', {
    apiVersion: 'string',
    kind: 'string',
    metadata: objectMetaSchema,
    involvedObject: objectReference,
    reason: 'string',
    message: 'string',
    source: struct('EventSource', { component: 'string', host: 'string' }),
    firstTimestamp: 'time',
    lastTimestamp: 'time',
    eventTime: 'microTime',
    count: 'int32',
    type: 'string',
    action: 'string',
    related: objectReference,
    reportingComponent: 'string',
    reportingInstance: 'string',
    series: 'object',
  }),
  selectableFields: {
    'involvedObject.kind': involved('kind'),
    'involvedObject.namespace': involved('namespace'),
    'involvedObject.name': involved('name'),
    'involvedObject.uid': involved('uid'),
    'involvedObject.apiVersion': involved('apiVersion'),
    'involvedObject.resourceVersion': involved('resourceVersion'),
    'involvedObject.fieldPath': involved('fieldPath'),
    reason: (obj) => asEvent(obj).reason ?? '',
    reportingComponent: (obj) => asEvent(obj).reportingComponent ?? '',
    source: (obj) => asEvent(obj).source?.component ?? '',
    type: (obj) => asEvent(obj).type ?? '',
  },
  validate: validateEvent,
  validateUpdate: (next, prev) => [...validateObjectMetaUpdate(next.metadata, prev.metadata), ...validateEvent(next)],
};
