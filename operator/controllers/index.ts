// The leader's controllers. `trustgate run` (operator/runtime) starts the caches on every
// replica and, once this replica wins the Lease, calls startControllers; on losing it, stop().
//
//   const caches = createCaches({ kubeConfig, namespace, logger });  caches.start();
//   const elector = new LeaderElector({ client: caches.client, namespace, identity,
//     onStartedLeading: async (signal) => {
//       const c = await startControllers({ kubeConfig, caches, logger, registry, namespace });
//       signal.addEventListener('abort', () => void c.stop());
//     } });
//   void elector.run();   …   on SIGTERM: await elector.release(); await caches.stop();

import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Caches } from '../kube/caches.ts';
import type { ClusterAccess } from '../kube/kubeconfig.ts';
import { type Reconciler, WorkQueue } from '../kube/workqueue.ts';
import { Actions } from './actions.ts';
import { attestationReconciler } from './attestation.ts';
import { type ControllerContext, GrantRevocations } from './context.ts';
import { REVOCATION_ANNOTATION } from './drift-plan.ts';
import { grantReconciler } from './grant.ts';
import { controllerMetrics } from './metrics.ts';
import { nodeReconciler } from './node.ts';
import { policyReconciler } from './policy.ts';
import { Revoker } from './revoke.ts';

export interface ControllersContext {
  /** Kept for the contract; writes go through caches.client (same kubeconfig). */
  kubeConfig?: ClusterAccess;
  caches: Caches;
  logger?: Logger;
  registry?: Registry;
  /** trustgate's namespace (events without a namespace go to "default"). */
  namespace?: string;
  /** Epoch ms; injectable for tests. */
  clock?: () => number;
  /** Reconciles at once per controller (default 64 for nodes, fewer for the others). */
  concurrency?: number;
  /** Identity for Events' reportingInstance. */
  identity?: string;
}

export interface Controllers {
  stop(): Promise<void>;
  /** For tests: resolves when every queue has nothing ready or in flight. */
  idle(): Promise<void>;
}

/** Policy counts are batched: many node changes make one status write. */
const POLICY_BATCH_MS = 500;
const GRANT_BATCH_MS = 1000;
/** Revocation records for grants are collected this long before one status write. */
const GRANT_RECORD_BATCH_MS = 200;

export async function startControllers(context: ControllersContext): Promise<Controllers> {
  const logger = context.logger ?? pino({ level: 'silent' });
  const registry = context.registry ?? new Registry();
  const { caches } = context;
  const metrics = controllerMetrics(registry);
  const actions = new Actions(caches.client, logger, context.identity);
  const queue = (name: string, concurrency: number) =>
    new WorkQueue({ name, concurrency, registry, logger: logger.child({ controller: name }) });
  // Nodes drift in batches; each reconcile mostly waits on the API server.
  const nodes = queue('node', context.concurrency ?? 64);
  const attestations = queue('nodeattestation', context.concurrency ?? 16);
  const grants = queue('workloadgrant', context.concurrency ?? 8);
  const policies = queue('endpointtrustpolicy', 2);
  const ctx: ControllerContext = {
    caches,
    actions,
    revoker: new Revoker(caches, actions, metrics, logger),
    metrics,
    logger,
    now: context.clock ?? Date.now,
    grantRevocations: new GrantRevocations((key) => grants.addAfter(key, GRANT_RECORD_BATCH_MS)),
  };
  const timed =
    (controller: string, fn: Reconciler): Reconciler =>
    async (key) => {
      const end = metrics.reconcileDuration.startTimer({ controller });
      try {
        return await fn(key);
      } finally {
        end();
      }
    };

  const unsubscribe = [
    caches.trust.onChange((node, policy) => {
      nodes.add(node);
      if (caches.attestations.get(node)) attestations.add(node);
      policies.addAfter(policy, POLICY_BATCH_MS);
    }),
    caches.nodes.on({
      add: (n) => nodes.add(n.metadata.name),
      update: (n) => nodes.add(n.metadata.name),
    }),
    caches.attestations.on({
      add: (a) => attestations.add(a.metadata.name ?? ''),
      update: (a) => attestations.add(a.metadata.name ?? ''),
    }),
    caches.policies.on({
      add: (p) => policies.add(p.metadata.name ?? ''),
      update: (p) => policies.add(p.metadata.name ?? ''),
      delete: (p) => policies.add(p.metadata.name ?? ''),
    }),
    caches.grants.on({
      add: (g) => grants.add(`${g.metadata.namespace}/${g.metadata.name}`),
      update: (g) => grants.add(`${g.metadata.namespace}/${g.metadata.name}`),
    }),
    caches.pods.on({
      add: (p) => {
        // A pod landing on a drifted node is handled at once (it should not be there).
        const node = p.spec.nodeName ? caches.nodes.get(p.spec.nodeName) : undefined;
        if (node?.metadata.annotations?.[REVOCATION_ANNOTATION]) nodes.add(node.metadata.name);
        for (const g of caches.grantsFor(p.metadata.namespace, p.spec.serviceAccountName)) {
          grants.addAfter(`${g.metadata.namespace}/${g.metadata.name}`, GRANT_BATCH_MS);
        }
      },
      update: (p) => {
        const node = p.spec.nodeName ? caches.nodes.get(p.spec.nodeName) : undefined;
        if (node?.metadata.annotations?.[REVOCATION_ANNOTATION]) nodes.add(node.metadata.name);
      },
      delete: (p) => {
        for (const g of caches.grantsFor(p.metadata.namespace, p.spec.serviceAccountName)) {
          grants.addAfter(`${g.metadata.namespace}/${g.metadata.name}`, GRANT_BATCH_MS);
        }
      },
    }),
  ];

  const all = [nodes, attestations, grants, policies];
  const stop = async () => {
    for (const u of unsubscribe) u();
    await Promise.all(all.map((q) => q.stop()));
  };
  if (!(await caches.waitForSync())) {
    await stop();
    throw new Error('caches did not sync');
  }
  nodes.start(timed('node', nodeReconciler(ctx)));
  attestations.start(timed('nodeattestation', attestationReconciler(ctx)));
  grants.start(timed('workloadgrant', grantReconciler(ctx)));
  policies.start(timed('endpointtrustpolicy', policyReconciler(ctx)));
  // Level-triggered start: look at everything once. Unfinished revocations recorded on
  // nodes by a previous leader are picked up here.
  for (const n of caches.nodes.list()) nodes.add(n.metadata.name);
  for (const a of caches.attestations.list()) attestations.add(a.metadata.name ?? '');
  for (const g of caches.grants.list()) grants.add(`${g.metadata.namespace}/${g.metadata.name}`);
  for (const p of caches.policies.list()) policies.add(p.metadata.name ?? '');
  logger.info({ nodes: caches.nodes.size, policies: caches.policies.size }, 'controllers started');

  return {
    stop,
    idle: async () => {
      await Promise.all(all.map((q) => q.idle()));
    },
  };
}

export { Caches, createCaches } from '../kube/caches.ts';
export { LeaderElector } from '../kube/leader-election.ts';
