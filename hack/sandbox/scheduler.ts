// A tiny scheduler for the sandbox (opt-in, for the demo and end-to-end tests): binds
// pending pods through pods/binding as system:kube-scheduler, honouring nodeSelector,
// unschedulable nodes and NoSchedule/NoExecute taints against tolerations, preferring
// nodes without untolerated PreferNoSchedule taints, spreading by pod count. Unschedulable pods get kube's PodScheduled=False condition. It only talks to
// the API server (client-node), so webhooks see its bindings like any scheduler's.
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { apiErrorMessage } from './identity/client.ts';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** kube's Toleration.ToleratesTaint. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  const operator = toleration.operator ?? 'Equal';
  if (operator === 'Exists') return true;
  if (operator === 'Equal') return (toleration.value ?? '') === (taint.value ?? '');
  return false;
}

const UNSCHEDULABLE_TAINT: Taint = {
  key: 'node.kubernetes.io/unschedulable',
  effect: 'NoSchedule',
};

/** Why a node cannot take the pod (kube's wording for the scheduler's summary), or null. */
export function unfitReason(pod: V1Pod, node: V1Node): string | null {
  const tolerations = (pod.spec?.tolerations ?? []) as Toleration[];
  if (node.spec?.unschedulable && !tolerations.some((t) => tolerates(t, UNSCHEDULABLE_TAINT))) {
    return 'node(s) were unschedulable';
  }
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(pod.spec?.nodeSelector ?? {})) {
    if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  }
  for (const taint of (node.spec?.taints ?? []) as Taint[]) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) {
      return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
    }
  }
  return null;
}

/** Untolerated PreferNoSchedule taints: what kube-scheduler's TaintToleration score counts. */
export function softTaints(pod: V1Pod, node: V1Node): number {
  const tolerations = (pod.spec?.tolerations ?? []) as Toleration[];
  return ((node.spec?.taints ?? []) as Taint[]).filter(
    (t) => t.effect === 'PreferNoSchedule' && !tolerations.some((o) => tolerates(o, t)),
  ).length;
}

export type Placement = { node: string } | { unschedulable: string };

/**
 * Picks the feasible node with the fewest untolerated PreferNoSchedule taints, then the
 * fewest pods, then by name (kube-scheduler weighs TaintToleration 3, above spreading; here
 * it simply comes first), or explains in the shape of
 * kube-scheduler's message (checked on the sandbox only):
 * "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 node(s) ...".
 */
export function placePod(pod: V1Pod, nodes: V1Node[], podsPerNode: Map<string, number>): Placement {
  const reasons = new Map<string, number>();
  let best: { name: string; rank: [number, number] } | undefined;
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    const why = unfitReason(pod, node);
    if (why) {
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
      continue;
    }
    const rank: [number, number] = [softTaints(pod, node), podsPerNode.get(name) ?? 0];
    const order = best ? rank[0] - best.rank[0] || rank[1] - best.rank[1] : -1;
    if (!best || order < 0 || (order === 0 && name < best.name)) best = { name, rank };
  }
  if (best) return { node: best.name };
  const summary = [...reasons.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  return {
    unschedulable: `0/${nodes.length} nodes are available${summary ? `: ${summary}` : ''}.`,
  };
}

/** The last thing the scheduler did with one pod. */
export interface ScheduleAttempt {
  at: Date;
  /** Bound to this node. */
  node?: string;
  /** Not bound: unschedulable, or the API server (an admission webhook) refused the binding. */
  error?: string;
  code?: number;
}

export interface Scheduler {
  /** Keyed "<namespace>/<name>". */
  readonly attempts: ReadonlyMap<string, ScheduleAttempt>;
  /** One scheduling pass now; resolves with how many pods were bound. */
  scheduleOnce(): Promise<number>;
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  /** Credentials of system:kube-scheduler (sandbox.tokens.schedulerToken) or any scheduler. */
  kubeConfig: KubeConfig;
  /** Pass interval; default 250 ms. */
  intervalMs?: number;
  /** Only pods with this spec.schedulerName (default "default-scheduler"). */
  schedulerName?: string;
}

export function startScheduler(opts: SchedulerOptions): Scheduler {
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const schedulerName = opts.schedulerName ?? 'default-scheduler';
  const attempts = new Map<string, ScheduleAttempt>();
  let running: Promise<number> | undefined;
  let stopped = false;

  async function markUnschedulable(pod: V1Pod, message: string): Promise<void> {
    const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (current?.status === 'False' && current.message === message) return;
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastTransitionTime: new Date(),
    };
    const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    await api.patchNamespacedPodStatus(
      {
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        body: { status: { conditions: [...others, condition] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async function pass(): Promise<number> {
    const pending = (
      await api.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=' })
    ).items.filter(
      (p) =>
        !p.metadata?.deletionTimestamp &&
        (p.spec?.schedulerName ?? 'default-scheduler') === schedulerName,
    );
    if (pending.length === 0) return 0;
    const nodes = (await api.listNode()).items;
    const load = new Map<string, number>();
    for (const p of (await api.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName!=' }))
      .items) {
      const n = p.spec?.nodeName ?? '';
      load.set(n, (load.get(n) ?? 0) + 1);
    }
    let bound = 0;
    for (const pod of pending) {
      const namespace = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      const key = `${namespace}/${name}`;
      const placement = placePod(pod, nodes, load);
      try {
        if ('unschedulable' in placement) {
          attempts.set(key, { at: new Date(), error: placement.unschedulable });
          await markUnschedulable(pod, placement.unschedulable);
          continue;
        }
        await api.createNamespacedPodBinding({
          name,
          namespace,
          body: {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name, namespace, uid: pod.metadata?.uid },
            target: { apiVersion: 'v1', kind: 'Node', name: placement.node },
          },
        });
        load.set(placement.node, (load.get(placement.node) ?? 0) + 1);
        attempts.set(key, { at: new Date(), node: placement.node });
        bound++;
      } catch (err) {
        const { code, message } = apiErrorMessage(err);
        attempts.set(key, { at: new Date(), error: message, code });
      }
    }
    return bound;
  }

  function runPass(): Promise<number> {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  }

  /** Waits for a pass in flight (it may predate the caller's changes), then runs a fresh one. */
  async function scheduleOnce(): Promise<number> {
    await running?.catch(() => undefined);
    return runPass();
  }

  const timer = setInterval(() => {
    if (!stopped) runPass().catch(() => undefined);
  }, opts.intervalMs ?? 250);
  timer.unref();

  return {
    attempts,
    scheduleOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
