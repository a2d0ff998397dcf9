// WorkloadGrant controller: Active / Expired / Revoked conditions, bound pods, and the
// expiry of a just-in-time grant, which revokes like drift (the service account's pods
// governed by the policy, its legacy token secrets, a rotation when asked) at the exact
// moment (requeueAfter). The grant's own status is the durable record: a revocation not
// yet recorded in lastRevocation is (re)done on the next reconcile.
import { GROUP, VERSION } from '../api/crds.ts';
import type {
  EndpointTrustPolicy,
  WorkloadGrant,
  WorkloadGrantStatus,
} from '../api/types.generated.ts';
import { saKey } from '../kube/caches.ts';
import { resourcePath } from '../kube/rest.ts';
import type { PodLite } from '../kube/trim.ts';
import { type ConditionInput, sameJson, setConditions } from './conditions.ts';
import { type ControllerContext, requeueAt } from './context.ts';
import type { Controller, ReconcileResult } from './controller.ts';
import { grantReady } from './ready.ts';
import { governedPods } from './revoke.ts';
import { enforcementSettings } from './settings.ts';

/** Bound-pod counts are batched: a burst of pod changes makes one status write. */
const GRANT_BATCH_MS = 1000;
/** Revocation records for grants are collected this long before one status write. */
const GRANT_RECORD_BATCH_MS = 200;

export function grantController(ctx: ControllerContext, concurrency = 8): Controller {
  const { caches } = ctx;
  const key = (g: WorkloadGrant) => `${g.metadata.namespace}/${g.metadata.name}`;
  const ofPod = (p: PodLite) =>
    caches.grantsFor(p.metadata.namespace, p.spec.serviceAccountName).map(key);
  return {
    name: 'workloadgrant',
    concurrency,
    watches: [
      (q) => caches.grants.on({ add: (g) => q.add(key(g)), update: (g) => q.add(key(g)) }),
      // A grant's policy appearing or going changes whether the grant is Active (Ready).
      (q) => {
        const ofPolicy = (p: EndpointTrustPolicy) => {
          for (const g of caches.grants.byIndex('policy', p.metadata.name ?? '')) q.add(key(g));
        };
        return caches.policies.on({ add: ofPolicy, delete: ofPolicy });
      },
      (q) =>
        caches.pods.on({
          add: (p) => {
            for (const k of ofPod(p)) q.addAfter(k, GRANT_BATCH_MS);
          },
          delete: (p) => {
            for (const k of ofPod(p)) q.addAfter(k, GRANT_BATCH_MS);
          },
        }),
      (q) => ctx.grantRevocations.subscribe((k) => q.addAfter(k, GRANT_RECORD_BATCH_MS)),
    ],
    initialKeys: () => [...caches.grants.list()].map(key),
    reconcile: grantReconciler(ctx),
  };
}

export const GRANT_EXPIRED = 'GrantExpired';

export function grantReconciler(ctx: ControllerContext) {
  const { caches, actions, revoker, metrics } = ctx;

  return async function reconcileGrant(
    key: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const grant = caches.grants.get(name, namespace);
    if (!grant) return undefined;
    const now = ctx.now();
    const sa = grant.spec.serviceAccountName;
    const policyName = grant.spec.policyRef?.name ?? '';
    const policy = caches.trust.policy(policyName);
    const notBefore = Date.parse(grant.spec.validity?.notBefore ?? '');
    const notAfter = Date.parse(grant.spec.validity?.notAfter ?? '');
    const expired = Number.isFinite(notAfter) && now >= notAfter;
    const early = Number.isFinite(notBefore) && now < notBefore;
    const path = resourcePath({
      group: GROUP,
      version: VERSION,
      plural: 'workloadgrants',
      namespace,
      name,
    });
    // The grant as the object of its events.
    const grantRef = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'WorkloadGrant',
      name,
      namespace,
      uid: grant.metadata.uid,
    };
    const pending = ctx.grantRevocations.peek(key);
    let lastRevocation = pending ?? grant.status?.lastRevocation;
    const revokedForExpiry =
      lastRevocation?.reason === GRANT_EXPIRED && Date.parse(lastRevocation.time ?? '') >= notAfter;
    // Another active grant for the same account and policy keeps its pods alive.
    const stillCovered = caches
      .grantsFor(namespace, sa)
      .some((g) => g !== grant && g.spec.policyRef?.name === policyName && windowContains(g, now));
    if (expired && !revokedForExpiry && policy && !stillCovered) {
      const settings = enforcementSettings(policy);
      const pods = governedPods(caches, policy, caches.podsOfServiceAccount(namespace, sa), now);
      const reason = `grant ${namespace}/${name} expired at ${grant.spec.validity?.notAfter}`;
      if (settings.mode === 'Audit') {
        metrics.revocations.inc({ action: 'AuditReport' });
        ctx.logger.warn(
          { grant: key, pods: pods.length },
          'grant expired (audit mode: report only)',
        );
      } else {
        signal.throwIfAborted(); // leadership lost: the next leader revokes
        const counts = await revoker.revoke({ policy, settings, reason, rotate: true }, pods, [
          saKey(namespace, sa),
        ]);
        metrics.driftToRevocation.observe(Math.max(0, ctx.now() - notAfter) / 1000);
        const revocation = {
          time: new Date(ctx.now()).toISOString(),
          policy: policyName,
          reason: GRANT_EXPIRED,
          podsRemoved: counts.podsRemoved,
          secretsDeleted: counts.secretsDeleted,
          serviceAccountRotated: counts.rotated.length > 0,
        };
        lastRevocation = revocation;
        void actions.event(
          grantRef,
          'Warning',
          'GrantExpired',
          `${reason}: ${revocationSummary(revocation)}`,
        );
      }
    }
    const boundPods = caches
      .podsOfServiceAccount(namespace, sa)
      .filter((p) => p.spec.nodeName && !p.metadata.deletionTimestamp).length;
    const revokedNow = lastRevocation?.reason === GRANT_EXPIRED && expired;
    const active: ConditionInput = !policy
      ? {
          type: 'Active',
          status: 'False',
          reason: 'PolicyNotFound',
          message: `policy ${policyName} does not exist`,
        }
      : expired
        ? {
            type: 'Active',
            status: 'False',
            reason: 'Expired',
            message: `expired at ${grant.spec.validity?.notAfter}`,
          }
        : early
          ? {
              type: 'Active',
              status: 'False',
              reason: 'NotYetValid',
              message: `valid from ${grant.spec.validity?.notBefore}`,
            }
          : {
              type: 'Active',
              status: 'True',
              reason: 'Active',
              message: `service account ${sa} may run under policy ${policyName}`,
            };
    const conditions: ConditionInput[] = [
      grantReady(active),
      active,
      expired
        ? {
            type: 'Expired',
            status: 'True',
            reason: 'Expired',
            message: `expired at ${grant.spec.validity?.notAfter}`,
          }
        : {
            type: 'Expired',
            status: 'False',
            reason: 'WithinValidity',
            message: 'the grant has not expired',
          },
      revokedNow
        ? {
            type: 'Revoked',
            status: 'True',
            reason: GRANT_EXPIRED,
            message: `revoked at ${lastRevocation?.time}`,
          }
        : {
            type: 'Revoked',
            status: 'False',
            reason: 'NotRevoked',
            message: 'the grant has not been revoked',
          },
    ];
    await actions.updateStatus<WorkloadGrant>(path, grant, (current) => {
      const status: WorkloadGrantStatus = {
        ...current.status,
        observedGeneration: current.metadata.generation,
        conditions: setConditions(
          current.status?.conditions,
          conditions,
          current.metadata.generation,
          now,
        ),
        boundPods,
        lastRevocation: lastRevocation ?? current.status?.lastRevocation,
      };
      const clean = JSON.parse(JSON.stringify(status)) as Record<string, unknown>;
      return sameJson(current.status ?? {}, clean) ? undefined : clean;
    });
    if (pending) {
      ctx.grantRevocations.written(key, pending);
      void actions.event(
        grantRef,
        'Warning',
        'TrustRevoked',
        `policy ${pending.policy} on node ${pending.node}: ${revocationSummary(pending)}`,
      );
    }
    const next = [notBefore, notAfter].filter((t) => Number.isFinite(t) && t > now);
    return requeueAt(next.length ? Math.min(...next) : undefined, now);
  };
}

/** What a revocation did, as the grant's events say it. */
function revocationSummary(r: {
  podsRemoved?: number;
  secretsDeleted?: number;
  serviceAccountRotated?: boolean;
}): string {
  const rotated = r.serviceAccountRotated ? ', rotated the service account' : '';
  return `removed ${r.podsRemoved} pods, deleted ${r.secretsDeleted} legacy token secrets${rotated}`;
}

function windowContains(grant: WorkloadGrant, now: number): boolean {
  const nb = Date.parse(grant.spec.validity?.notBefore ?? '');
  const na = Date.parse(grant.spec.validity?.notAfter ?? '');
  return !(Number.isFinite(nb) && now < nb) && !(Number.isFinite(na) && now >= na);
}
