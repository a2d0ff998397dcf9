// `kubectl get` asks for meta.k8s.io/v1 Tables; this renders objects into rows using the
// resource's printer columns (CRD additionalPrinterColumns or kube's built-in columns).
import { evaluateJSONPath } from './jsonpath.ts';
import type { PrinterColumn, ResourceType } from './resources.ts';
import type { KubeObject } from './types.ts';

/** Kube's short human durations: 45s, 5m10s, 3h, 2d5h, 400d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365}d`;
}

const age = (ts: unknown) =>
  typeof ts === 'string' ? humanDuration(Date.now() - Date.parse(ts)) : '<unknown>';

const rec = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A LabelSelector as kube prints it: "app=web,tier in (a,b)". */
function selectorText(sel: Record<string, unknown>): string {
  const parts = Object.entries(rec(sel.matchLabels)).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of list(sel.matchExpressions).map(rec)) {
    const values = list(e.values).map(String).join(',');
    const op = String(e.operator ?? '');
    if (op === 'Exists') parts.push(String(e.key));
    else if (op === 'DoesNotExist') parts.push(`!${String(e.key)}`);
    else parts.push(`${String(e.key)} ${op.toLowerCase()} (${values})`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

const NAME: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => o.metadata.name,
};
const AGE: PrinterColumn = {
  name: 'Age',
  type: 'string',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => age(o.metadata.creationTimestamp),
};

function podStatus(o: KubeObject): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const status = rec(o.status);
  for (const cs of list(status.containerStatuses)) {
    const waiting = rec(rec(rec(cs).state).waiting);
    if (typeof waiting.reason === 'string') return waiting.reason;
  }
  return typeof status.reason === 'string' ? status.reason : String(status.phase ?? 'Pending');
}

const CREATED_AT: PrinterColumn = {
  name: 'Created At',
  type: 'date',
  cell: (o) => o.metadata.creationTimestamp,
};

const or = (v: unknown, fallback: string) =>
  v === undefined || v === null || v === '' ? fallback : String(v);

/** "443/TCP", "80:30080/TCP" — kube's Service PORT(S) cell. */
function servicePorts(o: KubeObject): string {
  const ports = list(rec(o.spec).ports).map((p) => {
    const port = rec(p);
    const proto = or(port.protocol, 'TCP');
    return port.nodePort ? `${port.port}:${port.nodePort}/${proto}` : `${port.port}/${proto}`;
  });
  return ports.length ? ports.join(',') : '<none>';
}

function externalIP(o: KubeObject): string {
  const spec = rec(o.spec);
  const external = list(spec.externalIPs).map(String);
  switch (spec.type) {
    case 'ExternalName':
      return or(spec.externalName, '<none>');
    case 'LoadBalancer': {
      const ingress = list(rec(rec(o.status).loadBalancer).ingress).map((i) =>
        or(rec(i).ip ?? rec(i).hostname, ''),
      );
      const all = [...ingress, ...external].filter(Boolean);
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return external.length ? external.join(',') : '<none>';
  }
}

/** "10.0.0.1:8443,10.0.0.2:8443 + 3 more..." — kube's Endpoints cell (three at most). */
function endpointList(o: KubeObject): string {
  const all: string[] = [];
  for (const subset of list(o.subsets)) {
    const ports = list(rec(subset).ports).map((p) => rec(p).port);
    for (const a of list(rec(subset).addresses)) {
      const ip = String(rec(a).ip ?? '');
      if (ports.length === 0) all.push(ip);
      for (const port of ports) all.push(`${ip}:${String(port)}`);
    }
  }
  if (all.length === 0) return '<none>';
  const shown = all.slice(0, 3).join(',');
  return all.length > 3 ? `${shown} + ${all.length - 3} more...` : shown;
}

const subjectsOf = (o: KubeObject, kind: string) =>
  list(o.subjects)
    .map(rec)
    .filter((s) => s.kind === kind)
    .map((s) =>
      kind === 'ServiceAccount' ? `${or(s.namespace, '')}/${String(s.name)}` : String(s.name),
    )
    .join(', ');

const BINDING_COLUMNS: PrinterColumn[] = [
  NAME,
  {
    name: 'Role',
    type: 'string',
    cell: (o) => `${String(rec(o.roleRef).kind ?? '')}/${String(rec(o.roleRef).name ?? '')}`,
  },
  AGE,
  { name: 'Users', type: 'string', priority: 1, cell: (o) => subjectsOf(o, 'User') },
  { name: 'Groups', type: 'string', priority: 1, cell: (o) => subjectsOf(o, 'Group') },
  {
    name: 'ServiceAccounts',
    type: 'string',
    priority: 1,
    cell: (o) => subjectsOf(o, 'ServiceAccount'),
  },
];

const containerField = (o: KubeObject, field: string) =>
  list(rec(rec(rec(o.spec).template).spec).containers)
    .map((c) => String(rec(c)[field] ?? ''))
    .join(',');

/** kube's LAST SEEN of an event (its count and first sighting are the wide columns). */
function eventLastSeen(o: KubeObject): string {
  const first = o.firstTimestamp ?? o.eventTime;
  return age(rec(o.series).lastObservedTime ?? o.lastTimestamp ?? first);
}

function eventSource(o: KubeObject): string {
  const source = rec(o.source);
  const component = or(source.component ?? o.reportingController, '');
  const host = or(source.host ?? o.reportingInstance, '');
  return host ? `${component}, ${host}` : component;
}

const BUILTIN_COLUMNS: Record<string, PrinterColumn[]> = {
  Deployment: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) =>
        `${Number(rec(o.status).readyReplicas ?? 0)}/${Number(rec(o.spec).replicas ?? 0)}`,
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      cell: (o) => Number(rec(o.status).updatedReplicas ?? 0),
    },
    {
      name: 'Available',
      type: 'integer',
      cell: (o) => Number(rec(o.status).availableReplicas ?? 0),
    },
    AGE,
    { name: 'Containers', type: 'string', priority: 1, cell: (o) => containerField(o, 'name') },
    { name: 'Images', type: 'string', priority: 1, cell: (o) => containerField(o, 'image') },
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      cell: (o) => selectorText(rec(rec(o.spec).selector)),
    },
  ],
  Service: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => or(rec(o.spec).type, 'ClusterIP') },
    { name: 'Cluster-IP', type: 'string', cell: (o) => or(rec(o.spec).clusterIP, '<none>') },
    { name: 'External-IP', type: 'string', cell: externalIP },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    AGE,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      cell: (o) => {
        const sel = Object.entries(rec(rec(o.spec).selector));
        return sel.length ? sel.map(([k, v]) => `${k}=${String(v)}`).join(',') : '<none>';
      },
    },
  ],
  Endpoints: [NAME, { name: 'Endpoints', type: 'string', cell: endpointList }, AGE],
  PodDisruptionBudget: [
    NAME,
    { name: 'Min Available', type: 'string', cell: (o) => or(rec(o.spec).minAvailable, 'N/A') },
    {
      name: 'Max Unavailable',
      type: 'string',
      cell: (o) => or(rec(o.spec).maxUnavailable, 'N/A'),
    },
    {
      name: 'Allowed Disruptions',
      type: 'integer',
      cell: (o) => Number(rec(o.status).disruptionsAllowed ?? 0),
    },
    AGE,
  ],
  Role: [NAME, CREATED_AT],
  ClusterRole: [NAME, CREATED_AT],
  RoleBinding: BINDING_COLUMNS,
  ClusterRoleBinding: BINDING_COLUMNS,
  PriorityClass: [
    NAME,
    { name: 'Value', type: 'integer', cell: (o) => o.value },
    { name: 'Global-Default', type: 'boolean', cell: (o) => o.globalDefault === true },
    AGE,
    {
      name: 'PreemptionPolicy',
      type: 'string',
      cell: (o) => or(o.preemptionPolicy, 'PreemptLowerPriority'),
    },
  ],
  Event: [
    { name: 'Last Seen', type: 'string', cell: eventLastSeen },
    { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) => {
        const io = rec(o.involvedObject ?? o.regarding);
        return `${String(io.kind ?? '').toLowerCase()}/${String(io.name ?? '')}`;
      },
    },
    {
      name: 'Subobject',
      type: 'string',
      priority: 1,
      cell: (o) => rec(o.involvedObject ?? o.regarding).fieldPath ?? '',
    },
    { name: 'Source', type: 'string', priority: 1, cell: eventSource },
    { name: 'Message', type: 'string', cell: (o) => o.message ?? o.note ?? '' },
    {
      name: 'First Seen',
      type: 'string',
      priority: 1,
      cell: (o) => age(o.firstTimestamp ?? o.eventTime),
    },
    {
      name: 'Count',
      type: 'integer',
      priority: 1,
      cell: (o) => Number(rec(o.series).count ?? o.count ?? 1) || 1,
    },
    { ...NAME, priority: 1 },
  ],
  Pod: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => {
        const statuses = list(rec(o.status).containerStatuses);
        const ready = statuses.filter((c) => rec(c).ready === true).length;
        return `${ready}/${list(rec(o.spec).containers).length}`;
      },
    },
    { name: 'Status', type: 'string', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String(
          list(rec(o.status).containerStatuses).reduce<number>(
            (n, c) => n + Number(rec(c).restartCount ?? 0),
            0,
          ),
        ),
    },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => rec(o.status).podIP ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => rec(o.spec).nodeName ?? '<none>' },
  ],
  Node: [
    NAME,
    {
      name: 'Status',
      type: 'string',
      cell: (o) => {
        const ready = list(rec(o.status).conditions).find((c) => rec(c).type === 'Ready');
        const parts = [rec(ready).status === 'True' ? 'Ready' : 'NotReady'];
        if (rec(o.spec).unschedulable) parts.push('SchedulingDisabled');
        return parts.join(',');
      },
    },
    {
      name: 'Roles',
      type: 'string',
      cell: (o) => {
        const roles = Object.keys(o.metadata.labels ?? {})
          .filter((k) => k.startsWith('node-role.kubernetes.io/'))
          .map((k) => k.slice('node-role.kubernetes.io/'.length));
        return roles.length ? roles.join(',') : '<none>';
      },
    },
    AGE,
    {
      name: 'Version',
      type: 'string',
      cell: (o) => rec(rec(o.status).nodeInfo).kubeletVersion ?? '',
    },
  ],
  Namespace: [
    NAME,
    { name: 'Status', type: 'string', cell: (o) => rec(o.status).phase ?? '' },
    AGE,
  ],
  ServiceAccount: [
    NAME,
    { name: 'Secrets', type: 'integer', cell: (o) => list(o.secrets).length },
    AGE,
  ],
  Secret: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => o.type ?? 'Opaque' },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys(rec(o.data)).length },
    AGE,
  ],
  ConfigMap: [
    NAME,
    {
      name: 'Data',
      type: 'integer',
      cell: (o) => Object.keys(rec(o.data)).length + Object.keys(rec(o.binaryData)).length,
    },
    AGE,
  ],
  Lease: [
    NAME,
    { name: 'Holder', type: 'string', cell: (o) => rec(o.spec).holderIdentity ?? '' },
    AGE,
  ],
  CustomResourceDefinition: [NAME, CREATED_AT],
};

export function columnsFor(t: ResourceType): PrinterColumn[] {
  if (t.columns.length > 0) return [NAME, ...t.columns];
  return BUILTIN_COLUMNS[t.kind] ?? [NAME, AGE];
}

function cellOf(column: PrinterColumn, obj: KubeObject): unknown {
  if (column.cell) return column.cell(obj) ?? '';
  const values = evaluateJSONPath(obj, column.jsonPath ?? '');
  if (values.length === 0) return null;
  const first = values.length === 1 ? values[0] : values;
  if (column.type === 'date') return typeof first === 'string' ? age(first) : null;
  if (typeof first === 'object' && first !== null) return JSON.stringify(first);
  return first;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function tableRow(t: ResourceType, obj: KubeObject, include: IncludeObject): unknown {
  const columns = columnsFor(t);
  const row: Record<string, unknown> = { cells: columns.map((c) => cellOf(c, obj)) };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata') {
    row.object = {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: obj.metadata,
    };
  }
  return row;
}

export function columnDefinitions(t: ResourceType): unknown[] {
  return columnsFor(t).map((c) => ({
    name: c.name,
    type: c.type === 'date' ? 'string' : c.type,
    format: c.format ?? '',
    description: c.description ?? '',
    priority: c.priority ?? 0,
  }));
}

export function table(
  t: ResourceType,
  objects: KubeObject[],
  include: IncludeObject,
  listMeta: Record<string, unknown>,
  withColumns = true,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withColumns ? columnDefinitions(t) : [],
    rows: objects.map((o) => tableRow(t, o, include)),
  };
}
