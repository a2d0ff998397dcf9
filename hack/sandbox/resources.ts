// What the sandbox knows about each resource it serves: names for discovery, scope,
// verbs, subresources, selectable fields, table columns, and how writes are checked.
import type { StatusCause } from './errors.ts';
import type { ListStrategies } from './patch.ts';
import { STRATEGIES } from './patch.ts';
import type { KubeObject } from './types.ts';

export interface PrinterColumn {
  name: string;
  type: string; // string integer number boolean date
  format?: string;
  description?: string;
  priority?: number;
  /** CRD additionalPrinterColumns; built-ins use `cell` instead. */
  jsonPath?: string;
  cell?: (obj: KubeObject) => unknown;
}

/** What validating and defaulting an object yields. */
export interface ValidationResult {
  object: KubeObject;
  causes: StatusCause[];
  /** Unknown fields that were dropped (reported as warnings, or errors under Strict). */
  unknownFields: string[];
}

export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  listKind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresource name → the kind its requests and responses carry. */
  subresources: Record<string, { kind: string; group?: string; version?: string; verbs: string[] }>;
  /** Main resource ignores `status`; the status subresource ignores everything else. */
  statusSubresource: boolean;
  /** How metadata.generation moves: on spec changes, on any non-metadata change, never. */
  generation: 'spec' | 'nonMetadata' | 'none';
  /** False for custom resources: a PUT must carry metadata.resourceVersion. */
  unconditionalUpdate: boolean;
  /** Field selectors beyond metadata.name and metadata.namespace. */
  extraFields: Record<string, (obj: KubeObject) => string>;
  columns: PrinterColumn[];
  /** Strategic merge patch strategies; absent → strategic merge patch is refused (CRs). */
  strategies?: ListStrategies;
  /** Defaults, prunes and validates a new/updated object (schema or built-in rules). */
  validate?: (obj: KubeObject, old: KubeObject | undefined) => ValidationResult;
}

/** Storage key of a resource: "pods", "leases.coordination.k8s.io". */
export const resourceKey = (group: string, resource: string) =>
  group ? `${resource}.${group}` : resource;

export const apiVersionOf = (t: Pick<ResourceType, 'group' | 'version'>) =>
  t.group ? `${t.group}/${t.version}` : t.version;

export function selectableFields(t: ResourceType, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': obj.metadata.name ?? '',
  };
  if (t.namespaced) fields['metadata.namespace'] = obj.metadata.namespace ?? '';
  for (const [field, get] of Object.entries(t.extraFields)) fields[field] = get(obj);
  return fields;
}

/** The verbs of a fully served resource (built-ins and custom resources alike). */
export const ALL_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

function builtin(
  t: Partial<ResourceType> & Pick<ResourceType, 'resource' | 'kind' | 'namespaced'>,
): ResourceType {
  return {
    group: '',
    version: 'v1',
    listKind: `${t.kind}List`,
    singular: t.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    verbs: ALL_VERBS,
    subresources: {},
    statusSubresource: false,
    generation: 'none',
    unconditionalUpdate: true,
    extraFields: {},
    columns: [],
    strategies: STRATEGIES[t.kind] ?? {},
    ...t,
  };
}

const statusSub = { status: { kind: '', verbs: ['get', 'patch', 'update'] } };

/** rbac.authorization.k8s.io/v1: stored and served; the sandbox's authorizer does not read them. */
function rbacResources(): ResourceType[] {
  const rbac = (resource: string, kind: string, namespaced: boolean) =>
    builtin({ group: 'rbac.authorization.k8s.io', resource, kind, namespaced });
  return [
    rbac('roles', 'Role', true),
    rbac('rolebindings', 'RoleBinding', true),
    rbac('clusterroles', 'ClusterRole', false),
    rbac('clusterrolebindings', 'ClusterRoleBinding', false),
  ];
}

export function builtinResources(): ResourceType[] {
  return [
    builtin({
      resource: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      subresources: { ...statusSub },
      statusSubresource: true,
      extraFields: { 'status.phase': (o) => str(rec(o.status).phase) },
    }),
    builtin({
      resource: 'nodes',
      kind: 'Node',
      namespaced: false,
      shortNames: ['no'],
      subresources: { ...statusSub },
      statusSubresource: true,
      extraFields: { 'spec.unschedulable': (o) => String(rec(o.spec).unschedulable === true) },
    }),
    builtin({
      resource: 'pods',
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
      subresources: {
        ...statusSub,
        binding: { kind: 'Binding', verbs: ['create'] },
        eviction: { kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
        ephemeralcontainers: { kind: '', verbs: ['get', 'patch', 'update'] },
      },
      statusSubresource: true,
      generation: 'spec',
      extraFields: {
        'spec.nodeName': (o) => str(rec(o.spec).nodeName),
        'spec.serviceAccountName': (o) => str(rec(o.spec).serviceAccountName),
        'spec.restartPolicy': (o) => str(rec(o.spec).restartPolicy),
        'spec.schedulerName': (o) => str(rec(o.spec).schedulerName),
        'status.phase': (o) => str(rec(o.status).phase),
        'status.podIP': (o) => str(rec(o.status).podIP),
        'status.nominatedNodeName': (o) => str(rec(o.status).nominatedNodeName),
      },
    }),
    // The legacy way to bind: POST bindings with the pod's name in metadata.name.
    builtin({ resource: 'bindings', kind: 'Binding', namespaced: true, verbs: ['create'] }),
    builtin({
      resource: 'serviceaccounts',
      kind: 'ServiceAccount',
      namespaced: true,
      shortNames: ['sa'],
      subresources: {
        token: { kind: 'TokenRequest', group: 'authentication.k8s.io', verbs: ['create'] },
      },
    }),
    builtin({
      resource: 'secrets',
      kind: 'Secret',
      namespaced: true,
      extraFields: { type: (o) => str(o.type) },
    }),
    builtin({
      resource: 'services',
      kind: 'Service',
      namespaced: true,
      shortNames: ['svc'],
      categories: ['all'],
      subresources: { ...statusSub },
      statusSubresource: true,
    }),
    builtin({ resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
    builtin({ resource: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] }),
    builtin({
      group: 'apps',
      resource: 'deployments',
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      categories: ['all'],
      subresources: { ...statusSub },
      statusSubresource: true,
      generation: 'spec',
    }),
    builtin({
      group: 'policy',
      resource: 'poddisruptionbudgets',
      kind: 'PodDisruptionBudget',
      namespaced: true,
      shortNames: ['pdb'],
      subresources: { ...statusSub },
      statusSubresource: true,
      generation: 'spec',
    }),
    ...rbacResources(),
    builtin({
      group: 'scheduling.k8s.io',
      resource: 'priorityclasses',
      kind: 'PriorityClass',
      namespaced: false,
      shortNames: ['pc'],
    }),
    builtin({
      resource: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      extraFields: {
        'involvedObject.kind': (o) => str(rec(o.involvedObject).kind),
        'involvedObject.name': (o) => str(rec(o.involvedObject).name),
        'involvedObject.namespace': (o) => str(rec(o.involvedObject).namespace),
        'involvedObject.uid': (o) => str(rec(o.involvedObject).uid),
        reason: (o) => str(o.reason),
        type: (o) => str(o.type),
      },
    }),
    builtin({
      group: 'events.k8s.io',
      resource: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
    }),
    builtin({ group: 'coordination.k8s.io', resource: 'leases', kind: 'Lease', namespaced: true }),
    builtin({
      group: 'authentication.k8s.io',
      resource: 'tokenreviews',
      kind: 'TokenReview',
      namespaced: false,
      verbs: ['create'],
    }),
    builtin({
      group: 'admissionregistration.k8s.io',
      resource: 'validatingwebhookconfigurations',
      kind: 'ValidatingWebhookConfiguration',
      namespaced: false,
      generation: 'nonMetadata',
      categories: ['api-extensions'],
    }),
    builtin({
      group: 'apiextensions.k8s.io',
      resource: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      subresources: { ...statusSub },
      statusSubresource: true,
      generation: 'spec',
    }),
  ];
}
