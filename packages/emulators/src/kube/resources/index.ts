import { endpointSlices } from './endpointslices';
import { events } from './events';
import { namespaces } from './namespaces';
import { nodes } from './nodes';
import { services } from './services';
import type { ResourceType } from './types';

/** Every resource the emulator serves; adding one here is all the server needs. */
export const RESOURCE_TYPES: readonly ResourceType[] = [namespaces, services, nodes, events, endpointSlices];

export { endpointSlices, events, namespaces, nodes, services };
export type { Cluster, ResourceType } from './types';
