// Metrics of the kube layer. Each registry gets its own instances, created on first use,
// so two operators in one process (tests) or a re-start never register a name twice.
import { Counter, Gauge, type Registry } from 'prom-client';

type Metric = object;
const created = new WeakMap<Registry, Map<string, Metric>>();

/** The metric `name` in `registry`, made by `make` the first time. */
export function metric<M extends Metric>(registry: Registry, name: string, make: () => M): M {
  let byName = created.get(registry);
  if (!byName) {
    byName = new Map();
    created.set(registry, byName);
  }
  let m = byName.get(name) as M | undefined;
  if (!m) {
    m = make();
    byName.set(name, m);
  }
  return m;
}

export function kubeMetrics(registry: Registry) {
  return {
    queueDepth: metric(
      registry,
      'trustgate_workqueue_depth',
      () =>
        new Gauge({
          name: 'trustgate_workqueue_depth',
          help: 'Keys waiting in a controller work queue (ready or delayed retries excluded).',
          labelNames: ['queue'],
          registers: [registry],
        }),
    ),
    queueRetries: metric(
      registry,
      'trustgate_workqueue_retries_total',
      () =>
        new Counter({
          name: 'trustgate_workqueue_retries_total',
          help: 'Keys re-queued with backoff after a failed reconcile.',
          labelNames: ['queue'],
          registers: [registry],
        }),
    ),
    leader: metric(
      registry,
      'trustgate_leader',
      () =>
        new Gauge({
          name: 'trustgate_leader',
          help: '1 while this replica holds the leader lease, else 0.',
          registers: [registry],
        }),
    ),
  };
}
