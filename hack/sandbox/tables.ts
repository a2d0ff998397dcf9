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

const BUILTIN_COLUMNS: Record<string, PrinterColumn[]> = {
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
  CustomResourceDefinition: [
    NAME,
    {
      name: 'Created At',
      type: 'date',
      cell: (o) => o.metadata.creationTimestamp,
    },
  ],
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
