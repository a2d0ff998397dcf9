// API discovery: the legacy documents (/api, /apis, per group-version resource lists)
// and aggregated discovery (apidiscovery.k8s.io/v2), which kubectl 1.35 asks for first.
import type { Registry } from './registry.ts';
import type { ResourceType } from './resources.ts';

export const AGGREGATED_CONTENT_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0] ?? '';
  return first.includes('as=APIGroupDiscoveryList') && first.includes('v=v2');
}

/** Groups in a stable order: the core group first, then by name; versions in registry order. */
function groups(registry: Registry): Map<string, Map<string, ResourceType[]>> {
  const out = new Map<string, Map<string, ResourceType[]>>();
  const sorted = registry.all().sort((a, b) => a.group.localeCompare(b.group));
  for (const t of sorted) {
    const versions = out.get(t.group) ?? new Map<string, ResourceType[]>();
    versions.set(t.version, [...(versions.get(t.version) ?? []), t]);
    out.set(t.group, versions);
  }
  return out;
}

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(name: string, versions: string[]): Record<string, unknown> {
  const gvs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: gvs, preferredVersion: gvs[0] };
}

export function apiGroupList(registry: Registry): unknown {
  const list: unknown[] = [];
  for (const [group, versions] of groups(registry)) {
    if (group) list.push(groupDoc(group, [...versions.keys()]));
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: list };
}

export function apiGroup(registry: Registry, group: string): unknown | undefined {
  const versions = groups(registry).get(group);
  if (!group || !versions) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, [...versions.keys()]) };
}

export function apiResourceList(registry: Registry, group: string, version: string): unknown {
  const types = groups(registry).get(group)?.get(version);
  if (!types) return undefined;
  const resources: unknown[] = [];
  for (const t of types.sort((a, b) => a.resource.localeCompare(b.resource))) {
    resources.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
    });
    for (const [name, sub] of Object.entries(t.subresources)) {
      resources.push({
        name: `${t.resource}/${name}`,
        singularName: '',
        namespaced: t.namespaced,
        ...(sub.group !== undefined ? { group: sub.group, version: sub.version ?? 'v1' } : {}),
        kind: sub.kind || t.kind,
        verbs: sub.verbs,
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

/** apidiscovery.k8s.io/v2 for /api (core) or /apis (all named groups). */
export function aggregatedDiscovery(registry: Registry, core: boolean): unknown {
  const items: unknown[] = [];
  for (const [group, versions] of groups(registry)) {
    if ((group === '') !== core) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: [...versions].map(([version, types]) => ({
        version,
        freshness: 'Current',
        resources: types
          .sort((a, b) => a.resource.localeCompare(b.resource))
          .map((t) => ({
            resource: t.resource,
            responseKind: { group: t.group, version: t.version, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: t.verbs,
            ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
            ...(t.categories.length ? { categories: t.categories } : {}),
            subresources: Object.entries(t.subresources).map(([name, sub]) => ({
              subresource: name,
              responseKind: {
                group: sub.group ?? t.group,
                version: sub.version ?? t.version,
                kind: sub.kind || t.kind,
              },
              verbs: sub.verbs,
            })),
          })),
      })),
    });
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items,
  };
}
