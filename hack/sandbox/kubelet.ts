// A tiny kubelet for one fake node (opt-in, for the demo and end-to-end tests). As
// system:node:<name>, through the API server only: optionally registers its Node (and
// reports it Ready with capacity, which kube-scheduler needs to place pods there), marks
// pods bound to it Running, finishes graceful deletions, and keeps each projected
// service-account token fresh through TokenRequest, refreshing at 80 % of its lifetime
// like the kubelet's token manager. What happened to each token is kept for tests
// (ok / denied with the API server's message) — so a node that drifts and is refused
// fresh tokens by trustgate's webhook shows up here.
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { apiErrorMessage } from './identity/client.ts';

export interface TokenRefresh {
  at: Date;
  outcome: 'ok' | 'denied' | 'error';
  code?: number;
  message?: string;
}

/** One projected serviceAccountToken source of one pod on this node. */
export interface ProjectedToken {
  namespace: string;
  pod: string;
  podUID: string;
  serviceAccount: string;
  volume: string;
  path: string;
  /** Requested audience; undefined → the API server's audiences. */
  audience?: string;
  expirationSeconds: number;
  /** The current token (kept for tests; never logged). */
  token?: string;
  issuedAt?: Date;
  expiresAt?: Date;
  /** When the next TokenRequest is due. */
  refreshAt: Date;
  /** How many TokenRequests succeeded. */
  refreshes: number;
  last?: TokenRefresh;
}

export interface Kubelet {
  readonly nodeName: string;
  /** Projected tokens of pods on this node, optionally of one pod. */
  tokens(namespace?: string, pod?: string): ProjectedToken[];
  /** One sync pass now (after any pass in flight). */
  syncOnce(): Promise<void>;
  stop(): Promise<void>;
}

export interface KubeletOptions {
  /** Credentials of system:node:<nodeName> (sandbox.nodeToken(nodeName)). */
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Create the Node (with these labels/taints) if missing and report it Ready. */
  register?: {
    labels?: Record<string, string>;
    taints?: { key: string; value?: string; effect: string }[];
    /** Capacity and allocatable to report; default NODE_CAPACITY. */
    capacity?: Record<string, string>;
  };
  /** Sync interval; default 250 ms. */
  intervalMs?: number;
  /** Fraction of a token's lifetime after which it is refreshed; default 0.8. */
  refreshFraction?: number;
  /** Wait before retrying a refused or failed TokenRequest; default 1 s. */
  retryMs?: number;
  /** Clock in ms (tests move it to reach the refresh point). */
  now?: () => number;
}

const DEFAULT_TOKEN_SECONDS = 3600;

/** What a small node reports: without cpu, memory and pods the scheduler finds no room. */
export const NODE_CAPACITY: Record<string, string> = { cpu: '4', memory: '8Gi', pods: '110' };

type TokenSource = { audience?: string; expirationSeconds?: number; path?: string };

/** The serviceAccountToken sources of a pod's projected volumes. */
export function projectedTokenSources(pod: V1Pod): { volume: string; source: TokenSource }[] {
  const out: { volume: string; source: TokenSource }[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    for (const source of volume.projected?.sources ?? []) {
      if (source.serviceAccountToken)
        out.push({ volume: volume.name, source: source.serviceAccountToken });
    }
  }
  return out;
}

export function startKubelet(opts: KubeletOptions): Kubelet {
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const node = opts.nodeName;
  const now = opts.now ?? Date.now;
  const fraction = opts.refreshFraction ?? 0.8;
  const retryMs = opts.retryMs ?? 1000;
  const records = new Map<string, ProjectedToken>();
  let registered = !opts.register;
  let running: Promise<void> | undefined;
  let stopped = false;
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  async function register(): Promise<void> {
    try {
      await api.createNode({
        body: {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: node,
            labels: { 'kubernetes.io/hostname': node, ...opts.register?.labels },
          },
          spec: opts.register?.taints ? { taints: opts.register.taints } : {},
        },
      });
    } catch (err) {
      if (apiErrorMessage(err).code !== 409) throw err;
    }
    const ready = {
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
      lastHeartbeatTime: new Date(),
      lastTransitionTime: new Date(),
    };
    const capacity = opts.register?.capacity ?? NODE_CAPACITY;
    await api.patchNodeStatus(
      {
        name: node,
        body: { status: { conditions: [ready], capacity, allocatable: capacity } },
      },
      mergePatch,
    );
    registered = true;
  }

  async function markRunning(pod: V1Pod): Promise<void> {
    if (pod.status?.phase === 'Running') return;
    const at = new Date();
    const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: at });
    await api.patchNamespacedPodStatus(
      {
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        body: {
          status: {
            phase: 'Running',
            startTime: at,
            conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map(condition),
            containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
              name: c.name,
              image: c.image ?? '',
              imageID: '',
              ready: true,
              restartCount: 0,
              started: true,
              state: { running: { startedAt: at } },
            })),
          },
        },
      },
      mergePatch,
    );
  }

  async function refresh(record: ProjectedToken): Promise<void> {
    const at = now();
    try {
      const out = await api.createNamespacedServiceAccountToken({
        name: record.serviceAccount,
        namespace: record.namespace,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            audiences: record.audience ? [record.audience] : [],
            expirationSeconds: record.expirationSeconds,
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: record.pod, uid: record.podUID },
          },
        },
      });
      // Like the kubelet's token manager: the lifetime is what the server granted
      // (spec.expirationSeconds), counted on our own clock from the moment we asked.
      const lifetimeMs = (out.spec?.expirationSeconds ?? record.expirationSeconds) * 1000;
      record.token = out.status?.token;
      record.issuedAt = new Date(at);
      record.expiresAt = new Date(at + lifetimeMs);
      record.refreshAt = new Date(at + lifetimeMs * fraction);
      record.refreshes++;
      record.last = { at: new Date(at), outcome: 'ok' };
    } catch (err) {
      const { code, message } = apiErrorMessage(err);
      // Like the kubelet: keep the old token until it expires, try again later.
      record.last = { at: new Date(at), outcome: code === 403 ? 'denied' : 'error', code, message };
      record.refreshAt = new Date(at + retryMs);
    }
  }

  async function syncPod(pod: V1Pod, seen: Set<string>): Promise<void> {
    const namespace = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    if (pod.metadata?.deletionTimestamp) {
      // Containers "stopped": confirm the graceful deletion.
      await api
        .deleteNamespacedPod({
          name,
          namespace,
          body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } },
        })
        .catch(() => undefined);
      return;
    }
    await markRunning(pod);
    for (const { volume, source } of projectedTokenSources(pod)) {
      const key = `${namespace}/${name}/${pod.metadata?.uid}/${volume}/${source.path ?? ''}`;
      seen.add(key);
      let record = records.get(key);
      if (!record) {
        record = {
          namespace,
          pod: name,
          podUID: pod.metadata?.uid ?? '',
          serviceAccount: pod.spec?.serviceAccountName ?? 'default',
          volume,
          path: source.path ?? '',
          audience: source.audience || undefined,
          expirationSeconds: source.expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
          refreshAt: new Date(0),
          refreshes: 0,
        };
        records.set(key, record);
      }
      if (now() >= record.refreshAt.getTime()) await refresh(record);
    }
  }

  async function pass(): Promise<void> {
    if (!registered) await register();
    const pods = (await api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }))
      .items;
    const seen = new Set<string>();
    for (const pod of pods) await syncPod(pod, seen);
    for (const key of records.keys()) if (!seen.has(key)) records.delete(key);
  }

  function runPass(): Promise<void> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    if (!stopped) runPass().catch(() => undefined);
  }, opts.intervalMs ?? 250);
  timer.unref();

  return {
    nodeName: node,
    tokens: (namespace, pod) =>
      [...records.values()].filter(
        (r) =>
          (namespace === undefined || r.namespace === namespace) &&
          (pod === undefined || r.pod === pod),
      ),
    async syncOnce() {
      await running?.catch(() => undefined);
      return runPass();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
