// EndpointTrustPolicy controller: Ready condition, observedGeneration, and counts of
// governed, trusted and untrusted nodes (also exported as trustgate_nodes); the Reporting
// condition says whether its PolicyReports are kept (reports.ts).
import { GROUP, VERSION } from '../api/crds.ts';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { resourcePath } from '../kube/rest.ts';
import { attestationSettings } from '../trust/index.ts';
import { type ConditionInput, sameJson, setConditions } from './conditions.ts';
import { type ControllerContext, requeueAt } from './context.ts';
import type { Controller, ReconcileResult } from './controller.ts';

/** Counts change with time alone (staleness); look again at least this often. */
const MAX_COUNT_AGE_MS = 60_000;
/** Policy counts are batched: many node changes make one status write. */
const POLICY_BATCH_MS = 500;

export function policyController(ctx: ControllerContext): Controller {
  const { caches } = ctx;
  const key = (p: EndpointTrustPolicy) => p.metadata.name ?? '';
  return {
    name: 'endpointtrustpolicy',
    concurrency: 2,
    watches: [
      (q) => caches.trust.onChange((_node, policy) => q.addAfter(policy, POLICY_BATCH_MS)),
      (q) =>
        caches.policies.on({
          add: (p) => q.add(key(p)),
          update: (p) => q.add(key(p)),
          delete: (p) => q.add(key(p)),
        }),
      (q) =>
        ctx.reports.onChange(() => {
          for (const p of caches.policies.list()) q.add(key(p));
        }),
    ],
    initialKeys: () => [...caches.policies.list()].map(key),
    reconcile: policyReconciler(ctx),
  };
}

export function policyReconciler(ctx: ControllerContext) {
  const { caches, actions, metrics } = ctx;

  return async function reconcilePolicy(name: string): Promise<ReconcileResult | undefined> {
    const policy = caches.policies.get(name);
    if (!policy) {
      metrics.nodes.remove({ policy: name, trust: 'trusted' });
      metrics.nodes.remove({ policy: name, trust: 'untrusted' });
      return undefined;
    }
    await caches.trust.settled();
    const now = ctx.now();
    const decisions = caches.trust.decisionsForPolicy(name, now);
    const trusted = decisions.filter((d) => d.trusted).length;
    metrics.nodes.set({ policy: name, trust: 'trusted' }, trusted);
    metrics.nodes.set({ policy: name, trust: 'untrusted' }, decisions.length - trusted);
    const settings = attestationSettings(policy);
    const ready: ConditionInput =
      'problem' in settings
        ? { type: 'Ready', status: 'False', reason: 'Invalid', message: settings.problem }
        : {
            type: 'Ready',
            status: 'True',
            reason: 'Reconciled',
            message: `${trusted} of ${decisions.length} governed nodes trusted`,
          };
    const path = resourcePath({
      group: GROUP,
      version: VERSION,
      plural: 'endpointtrustpolicies',
      name,
    });
    await actions.updateStatus<EndpointTrustPolicy>(path, policy, (current) => {
      const status = {
        observedGeneration: current.metadata.generation,
        conditions: setConditions(
          current.status?.conditions,
          [ready, ...[ctx.reports.condition()].filter((c) => c !== undefined)],
          current.metadata.generation,
          now,
        ),
        governedNodes: decisions.length,
        trustedNodes: trusted,
        untrustedNodes: decisions.length - trusted,
      };
      return sameJson(current.status ?? {}, JSON.parse(JSON.stringify(status)))
        ? undefined
        : status;
    });
    const soonest = Math.min(now + MAX_COUNT_AGE_MS, ...decisions.map((d) => d.validUntil));
    return requeueAt(soonest, now);
  };
}
