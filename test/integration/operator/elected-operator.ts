// The process shape of `trustgate run` reduced to the operator half: caches on every
// replica, controllers only on the Lease holder. Used in-process (failover test) and as a
// child process (operator-main.ts, for kill -9).

import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { type Controllers, startControllers } from '../../../operator/controllers/index.ts';
import { Caches } from '../../../operator/kube/caches.ts';
import type { ClusterAccess } from '../../../operator/kube/kubeconfig.ts';
import { LeaderElector } from '../../../operator/kube/leader-election.ts';

export interface ElectedOperator {
  caches: Caches;
  elector: LeaderElector;
  registry: Registry;
  isLeader(): boolean;
  /** The running controllers while leading. */
  controllers(): Controllers | undefined;
  /** Dies without releasing the lease (as a crash would, minus the process exit). */
  crash(): Promise<void>;
  /** Graceful: stop controllers, release the lease, stop caches. */
  shutdown(): Promise<void>;
}

export function startElectedOperator(opts: {
  kubeConfig: ClusterAccess;
  namespace: string;
  identity: string;
  leaseName: string;
  logger: Logger;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): ElectedOperator {
  const registry = new Registry();
  const caches = new Caches({
    kubeConfig: opts.kubeConfig,
    namespace: opts.namespace,
    logger: opts.logger,
    informer: { inactivityTimeoutMs: 10_000, backoff: { initialMs: 50, maxMs: 1000 } },
  });
  caches.start();
  let controllers: Controllers | undefined;
  const elector = new LeaderElector({
    client: caches.client,
    namespace: opts.namespace,
    name: opts.leaseName,
    identity: opts.identity,
    leaseDurationMs: opts.leaseDurationMs,
    renewDeadlineMs: opts.renewDeadlineMs,
    retryPeriodMs: opts.retryPeriodMs,
    registry,
    logger: opts.logger,
    onStartedLeading: async (signal) => {
      const started = await startControllers({
        caches,
        logger: opts.logger,
        registry,
        namespace: opts.namespace,
        identity: opts.identity,
      });
      if (signal.aborted) await started.stop();
      else controllers = started;
    },
    onStoppedLeading: async () => {
      const c = controllers;
      controllers = undefined;
      await c?.stop();
    },
  });
  void elector.run();
  return {
    caches,
    elector,
    registry,
    isLeader: () => elector.isLeader() && controllers !== undefined,
    controllers: () => controllers,
    async crash() {
      await elector.stop();
      await caches.stop();
    },
    async shutdown() {
      await elector.release();
      await caches.stop();
    },
  };
}
