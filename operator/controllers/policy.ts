// EndpointTrustPolicy controller: Ready condition (False while the settings or any verifier
// key is unusable), observedGeneration, and counts of governed, trusted and untrusted
// nodes (also exported as trustgate_nodes); the Reporting condition says whether its
// PolicyReports are kept (reports.ts).
import { GROUP, VERSION } from '../api/crds.ts';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { resourcePath } from '../kube/rest.ts';
import { attestationSettings, type KeyProblem } from '../trust/index.ts';
import { sameJson, setConditions } from './conditions.ts';
import { type ControllerContext, requeueAt } from './context.ts';
import type { Controller, ReconcileResult } from './controller.ts';
import { policyReady } from './ready.ts';

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
      // A JWKS Secret changed, appeared, or turned out unreadable: keys decide Ready.
      (q) =>
        caches.jwks.onChange(() => {
          for (const p of caches.policies.list()) q.addAfter(key(p), POLICY_BATCH_MS);
        }),
      // Reports turned on or off: the Reporting condition follows.
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
    const ready = policyReady(
      'problem' in settings ? settings.problem : undefined,
      await keyProblems(ctx, name),
      { trusted, governed: decisions.length },
    );
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
    // A pending decision (validUntil = now) is announced when it settles; do not spin on it.
    const expiries = decisions.map((d) => d.validUntil).filter((t) => t > now);
    const soonest = Math.min(now + MAX_COUNT_AGE_MS, ...expiries);
    return requeueAt(soonest, now);
  };
}

/**
 * What is wrong with a policy's verifier keys, as the trust index resolved them; a JWKS
 * Secret trustgate is refused is said as such (RBAC to fix), not as a missing Secret.
 */
async function keyProblems(ctx: ControllerContext, name: string): Promise<KeyProblem[]> {
  const { caches } = ctx;
  const keyring = caches.trust.keyring(name);
  const verifiers = caches.trust.policy(name)?.spec?.attestation?.verifiers ?? [];
  if (!keyring) return [];
  const out: KeyProblem[] = [];
  keyring.verifiers.forEach((v, i) => {
    const ref = verifiers[i]?.jwksSecretRef;
    const secret = ref && { namespace: ref.namespace || caches.namespace, name: ref.name };
    const refused = secret && caches.jwks.accessProblem(secret);
    if (refused && v.keys.length === 0) {
      out.push({
        code: 'JwksSecretForbidden',
        message: `verifier ${v.name}: trustgate may not read Secret ${secret.namespace}/${secret.name} (HTTP ${refused.statusCode}); grant it get/list/watch there (chart value jwksSecretNamespaces)`,
      });
      return;
    }
    out.push(...v.problems);
  });
  out.push(...(await keyring.importProblems()));
  return out;
}
