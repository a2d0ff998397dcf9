// What the caches keep of each object: only the fields trustgate reads, so 50,000 pods
// stay small. Each transform builds a fresh object (never a view into the parsed JSON,
// which would keep the whole original alive).

type Raw = Record<string, unknown>;
type RawMeta = {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[];
};

export interface LiteMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServiceAccountTokenProjection {
  audience?: string;
  expirationSeconds?: number;
  path?: string;
}

export interface PodVolumeLite {
  name: string;
  secret?: { secretName: string };
  projected?: {
    sources: {
      serviceAccountToken: ServiceAccountTokenProjection;
    }[];
  };
}

/** Shared sub-objects (labels, volumes, status) are frozen: never mutate a cached pod. */
export interface PodLite {
  metadata: LiteMeta & { namespace: string };
  spec: { nodeName?: string; serviceAccountName: string; volumes?: PodVolumeLite[] };
  status?: { phase?: string };
}

export interface NodeLite {
  metadata: LiteMeta;
  spec?: { taints?: { key: string; value?: string; effect: string; timeAdded?: string }[] };
}

export interface NamespaceLite {
  metadata: LiteMeta;
}

export interface TokenSecretLite {
  metadata: LiteMeta & { namespace: string };
  /** The service account the legacy token belongs to. */
  serviceAccountName: string;
}

export interface SecretLite {
  metadata: LiteMeta & { namespace: string };
  type?: string;
  data?: Record<string, string>;
}

const meta = (raw: Raw): RawMeta => (raw.metadata ?? {}) as RawMeta;

function liteMeta(m: RawMeta, keep: { labels?: boolean; annotations?: (k: string) => boolean }) {
  const out: LiteMeta = { name: m.name ?? '' };
  if (m.namespace) out.namespace = m.namespace;
  if (m.uid) out.uid = m.uid;
  if (m.resourceVersion) out.resourceVersion = m.resourceVersion;
  if (m.creationTimestamp) out.creationTimestamp = m.creationTimestamp;
  if (m.deletionTimestamp) out.deletionTimestamp = m.deletionTimestamp;
  if (keep.labels && m.labels && Object.keys(m.labels).length) out.labels = { ...m.labels };
  if (keep.annotations && m.annotations) {
    const kept = Object.entries(m.annotations).filter(([k]) => keep.annotations?.(k));
    if (kept.length) out.annotations = Object.fromEntries(kept);
  }
  return out;
}

const trustgateAnnotation = (k: string) => k.startsWith('trustgate.dev/');

export function trimPod(raw: Raw): PodLite {
  const m = meta(raw);
  const spec = (raw.spec ?? {}) as {
    nodeName?: string;
    serviceAccountName?: string;
    volumes?: {
      name?: string;
      secret?: { secretName?: string };
      projected?: { sources?: { serviceAccountToken?: ServiceAccountTokenProjection }[] };
    }[];
  };
  const volumes: PodVolumeLite[] = [];
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName) {
      volumes.push({ name: v.name ?? '', secret: { secretName: v.secret.secretName } });
    }
    const tokens = (v.projected?.sources ?? []).filter((s) => s.serviceAccountToken);
    if (tokens.length) {
      volumes.push({
        name: v.name ?? '',
        projected: {
          sources: tokens.map((s) => ({
            serviceAccountToken: {
              audience: s.serviceAccountToken?.audience,
              expirationSeconds: s.serviceAccountToken?.expirationSeconds,
            },
          })),
        },
      });
    }
  }
  const metadata: PodLite['metadata'] = {
    name: m.name ?? '',
    namespace: intern(m.namespace ?? ''),
  };
  if (m.uid) metadata.uid = m.uid;
  if (m.resourceVersion) metadata.resourceVersion = m.resourceVersion;
  if (m.deletionTimestamp) metadata.deletionTimestamp = m.deletionTimestamp;
  if (m.labels && Object.keys(m.labels).length) metadata.labels = internShape(m.labels);
  const pod: PodLite = {
    metadata,
    spec: { serviceAccountName: intern(spec.serviceAccountName || 'default') },
  };
  if (spec.nodeName) pod.spec.nodeName = intern(spec.nodeName);
  // Pods of one template share their volume shapes: keep one copy.
  if (volumes.length) pod.spec.volumes = internShape(volumes);
  const phase = (raw.status as { phase?: string } | undefined)?.phase;
  if (phase) pod.status = internShape({ phase });
  return pod;
}

// Interning: pods repeat the same namespaces, node and account names, label sets and
// volume shapes thousands of times; one shared (frozen) copy each keeps 50,000 pods small.
// Bounded, so a cluster with endless distinct values cannot grow it without limit.
const MAX_STRINGS = 100_000;
const MAX_SHAPES = 20_000;
const strings = new Map<string, string>();
const shapes = new Map<string, unknown>();

function intern(s: string): string {
  const hit = strings.get(s);
  if (hit !== undefined) return hit;
  if (strings.size < MAX_STRINGS) strings.set(s, s);
  return s;
}

function internShape<T>(value: T): T {
  const key = JSON.stringify(value);
  const hit = shapes.get(key);
  if (hit !== undefined) return hit as T;
  const frozen = deepFreeze(structuredClone(value));
  if (shapes.size < MAX_SHAPES) shapes.set(key, frozen);
  return frozen;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function trimNode(raw: Raw): NodeLite {
  const node: NodeLite = {
    metadata: liteMeta(meta(raw), { labels: true, annotations: trustgateAnnotation }),
  };
  const taints = ((raw.spec ?? {}) as { taints?: NonNullable<NodeLite['spec']>['taints'] }).taints;
  if (taints?.length) node.spec = { taints: taints.map((t) => ({ ...t })) };
  return node;
}

export function trimNamespace(raw: Raw): NamespaceLite {
  return { metadata: liteMeta(meta(raw), { labels: true }) };
}

export const LEGACY_TOKEN_TYPE = 'kubernetes.io/service-account-token';

/** Legacy service-account token Secrets only, without their data; other Secrets are dropped. */
export function trimTokenSecret(raw: Raw): TokenSecretLite | undefined {
  if (raw.type !== LEGACY_TOKEN_TYPE) return undefined;
  const m = meta(raw);
  return {
    metadata: { ...liteMeta(m, {}), namespace: m.namespace ?? '' },
    serviceAccountName: m.annotations?.['kubernetes.io/service-account.name'] ?? '',
  };
}

/** Secrets that may hold a JWKS: data kept, everything else dropped. */
export function trimSecret(raw: Raw): SecretLite {
  const m = meta(raw);
  const out: SecretLite = { metadata: { ...liteMeta(m, {}), namespace: m.namespace ?? '' } };
  if (typeof raw.type === 'string') out.type = raw.type;
  if (raw.data && typeof raw.data === 'object')
    out.data = { ...(raw.data as Record<string, string>) };
  return out;
}
