// A test-only operator process: `node operator-main.ts` with KUBECONFIG, TG_NAMESPACE,
// TG_IDENTITY, TG_LEASE set. TG_POD_DELETE_DELAY_MS slows each pod removal so a test can
// kill -9 the process in the middle of a revocation.

import { getHeapSpaceStatistics } from 'node:v8';
import pino from 'pino';
import { Actions } from '../../../operator/controllers/actions.ts';
import { loadClusterAccess } from '../../../operator/kube/kubeconfig.ts';
import { startElectedOperator } from './elected-operator.ts';

const delay = Number(process.env.TG_POD_DELETE_DELAY_MS ?? 0);
if (delay > 0) {
  const original = Actions.prototype.removePod;
  Actions.prototype.removePod = async function (this: Actions, ...args) {
    await new Promise((r) => setTimeout(r, delay));
    return original.apply(this, args);
  };
}
// Credentials load as `trustgate run` loads them (no client-node in the process).
const kubeConfig = await loadClusterAccess(process.env.KUBECONFIG);
const operator = startElectedOperator({
  kubeConfig,
  namespace: process.env.TG_NAMESPACE ?? 'trustgate-system',
  identity: process.env.TG_IDENTITY ?? `pid-${process.pid}`,
  leaseName: process.env.TG_LEASE ?? 'trustgate-leader',
  logger: pino({ level: process.env.TG_LOG_LEVEL ?? 'info' }),
  leaseDurationMs: 2000,
  renewDeadlineMs: 1500,
  retryPeriodMs: 300,
});
// A parent with an IPC channel (the drift benchmark) may ask for this process's figures.
process.on('message', (msg: { type?: string }) => {
  if (msg?.type !== 'report') return;
  const controllers = operator.controllers();
  void (controllers ? controllers.idle() : Promise.resolve()).then(async () => {
    const name = 'trustgate_drift_to_revocation_seconds';
    const histogram = operator.registry.getSingleMetric(name)
      ? await operator.registry.getSingleMetricAsString(name)
      : '';
    process.send?.({
      type: 'report',
      leader: operator.isLeader(),
      synced: operator.caches.synced(),
      caches: operator.caches.status(),
      rssBytes: process.memoryUsage().rss,
      heapUsedBytes: process.memoryUsage().heapUsed,
      memory: process.memoryUsage(),
      spaces: getHeapSpaceStatistics().map(
        (x) =>
          `${x.space_name}:${Math.round(x.space_size / 1048576)}/${Math.round(x.space_used_size / 1048576)}`,
      ),
      histogram,
    });
  });
});
process.on('SIGTERM', () => {
  // Like `trustgate run`: a shutdown that hangs must not keep the test run alive.
  setTimeout(() => process.exit(1), 10_000).unref();
  void operator.shutdown().then(() => process.exit(0));
});
