// Keeps the ValidatingWebhookConfiguration in step with the policies, on the leader: a
// controller (operator/controllers/controller.ts shape) with one key, written again after
// any policy change. Its first pass runs only after the caches synced, so a leader that
// has not yet seen the policies never writes a configuration that governs nothing.

import type { Controller } from '../operator/controllers/controller.ts';
import type { Caches } from '../operator/kube/caches.ts';
import { workloadReach } from './reach.ts';

const KEY = 'webhook-configuration';
/** A burst of policy changes (a GitOps sync) makes one write. */
const BATCH_MS = 200;

export function webhookConfigurationController(
  caches: Caches,
  failurePolicy: 'Fail' | 'Ignore',
  write: (reach: ReturnType<typeof workloadReach>) => Promise<void>,
): Controller {
  return {
    name: 'webhookconfiguration',
    concurrency: 1,
    watches: [
      (q) =>
        caches.policies.on({
          add: () => q.addAfter(KEY, BATCH_MS),
          update: (p, old) => {
            // Status writes (counts, conditions) do not change what the webhook must see.
            if (JSON.stringify(p.spec) !== JSON.stringify(old?.spec)) q.addAfter(KEY, BATCH_MS);
          },
          delete: () => q.addAfter(KEY, BATCH_MS),
        }),
    ],
    initialKeys: () => [KEY],
    async reconcile() {
      await write(workloadReach([...caches.policies.list()], failurePolicy));
      return undefined;
    },
  };
}
