/** Discovery documents (/api, /api/v1, /apis, /apis/<group>[/<version>], /version) built from the resource list. */
import type { ResourceType } from './resources/types';

export const SERVER_VERSION = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-ferry-emulator',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.24.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resourceEntries(rt: ResourceType) {
  const main = {
    name: rt.resource,
    singularName: rt.singular,
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: VERBS,
    ...(rt.shortNames ? { shortNames: rt.shortNames } : {}),
    ...(rt.categories ? { categories: rt.categories } : {}),
  };
  const subs = Object.keys(rt.subresources ?? {}).map((sub) => ({
    name: `${rt.resource}/${sub}`,
    singularName: '',
    namespaced: rt.namespaced,
    kind: rt.kind,
    verbs: sub === 'finalize' ? ['update'] : ['get', 'patch', 'update'],
  }));
  return [main, ...subs];
}

export function apiVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function resourceList(types: readonly ResourceType[], group: string, version: string) {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: types.filter((t) => t.group === group && t.version === version).flatMap(resourceEntries),
  };
}

function groupOf(types: readonly ResourceType[], name: string) {
  const versions = [...new Set(types.filter((t) => t.group === name).map((t) => t.version))].map((version) => ({ groupVersion: `${name}/${version}`, version }));
  const preferred = versions[0];
  return preferred ? { name, versions, preferredVersion: preferred } : undefined;
}

export function apiGroup(types: readonly ResourceType[], name: string) {
  const group = groupOf(types, name);
  return group ? { kind: 'APIGroup', apiVersion: 'v1', ...group } : undefined;
}

export function apiGroupList(types: readonly ResourceType[]) {
  const names = [...new Set(types.map((t) => t.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.flatMap((n) => groupOf(types, n) ?? []) };
}
