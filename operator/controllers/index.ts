// The leader's controllers. `trustgate run` (operator/runtime/runtime.ts, the one
// composition root) starts the caches on every replica and, once this replica wins the
// Lease, calls startControllers; on losing it, stop(). Each controller (node.ts,
// attestation.ts, grant.ts, policy.ts) declares its watches next to its reconciler.

import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { DEFAULT_ADMISSION_CONFIG } from '../../webhook/admit.ts';
import type { Caches } from '../kube/caches.ts';
import type { ClusterAccess } from '../kube/kubeconfig.ts';
import { Actions } from './actions.ts';
import { attestationController } from './attestation.ts';
import { type ControllerContext, GrantRevocations } from './context.ts';
import { type Controller, prepareController } from './controller.ts';
import { grantController } from './grant.ts';
import { controllerMetrics } from './metrics.ts';
import { nodeController } from './node.ts';
import { policyController } from './policy.ts';
import { ReportStore } from './report-store.ts';
import { clusterPolicyReportController, policyReportController } from './reports.ts';
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
  /** trustgate's node, grant and policy controllers (default true; false: extra only). */
  builtIn?: boolean;
  /** More leader-only controllers the runtime composes (the webhook configuration's). */
  extra?: Controller[];
  /** Keep wgpolicyk8s.io PolicyReports (default true; off by itself when the CRDs are absent). */
  policyReports?: boolean;
  /** The API server's default token audiences, as the webhook judges them. */
  apiAudiences?: readonly string[];
}

export interface Controllers {
  stop(): Promise<void>;
  /** For tests: resolves when every queue has nothing ready or in flight. */
  idle(): Promise<void>;
}

/** The leader's controllers; each declares its own watches next to its reconciler. */
export function controllers(
  ctx: ControllerContext,
  concurrency?: number,
  apiAudiences: readonly string[] = DEFAULT_ADMISSION_CONFIG.apiAudiences,
): Controller[] {
  return [
    nodeController(ctx, concurrency),
    attestationController(ctx, concurrency),
    grantController(ctx, concurrency),
    policyController(ctx),
    policyReportController(ctx, ctx.reports, apiAudiences),
    clusterPolicyReportController(ctx, ctx.reports),
  ];
}

export async function startControllers(context: ControllersContext): Promise<Controllers> {
  const logger = context.logger ?? pino({ level: 'silent' });
  const registry = context.registry ?? new Registry();
  const { caches } = context;
  const metrics = controllerMetrics(registry);
  const actions = new Actions(caches.client, logger, context.identity);
  const ctx: ControllerContext = {
    caches,
    actions,
    revoker: new Revoker(caches, actions, metrics, logger),
    metrics,
    logger,
    now: context.clock ?? Date.now,
    grantRevocations: new GrantRevocations(),
    reports: new ReportStore({
      client: caches.client,
      logger: logger.child({ part: 'reports' }),
      metrics,
      enabled: context.policyReports !== false && context.builtIn !== false,
    }),
  };
  // Watches subscribe before the caches sync, so no change between sync and start is lost.
  const all = [
    ...(context.builtIn === false
      ? []
      : controllers(ctx, context.concurrency, context.apiAudiences)),
    ...(context.extra ?? []),
  ];
  const running = all.map((c) =>
    prepareController(c, {
      registry,
      logger,
      timed: (controller) => metrics.reconcileDuration.startTimer({ controller }),
    }),
  );
  const stop = async () => {
    ctx.reports.stop();
    await Promise.all(running.map((r) => r.stop()));
  };
  if (!(await caches.waitForSync())) {
    await stop();
    throw new Error('caches did not sync');
  }
  // Level-triggered start: every controller looks at everything once. Unfinished
  // revocations recorded on nodes by a previous leader are picked up here.
  ctx.reports.start();
  for (const r of running) r.start();
  logger.info({ nodes: caches.nodes.size, policies: caches.policies.size }, 'controllers started');

  return {
    stop,
    idle: async () => {
      await Promise.all(running.map((r) => r.queue.idle()));
    },
  };
}

export { Caches, createCaches } from '../kube/caches.ts';
export { LeaderElector } from '../kube/leader-election.ts';
