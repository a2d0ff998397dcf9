// The operator against a cluster (sandbox, or a real one via TRUSTGATE_TEST_KUBECONFIG):
// drift → taint → revocation, staleness with no new event, recovery, grant expiry,
// service-account rotation, and watches cut by the server.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { resourcePath } from '../../../operator/kube/rest.ts';
import type { Runtime } from '../../../operator/runtime/runtime.ts';
import { makeExemption } from '../../unit/webhook/world.ts';
import {
  attest,
  authenticated,
  createGrant,
  createNode,
  createPod,
  createPolicy,
  createServiceAccount,
  type Env,
  getNode,
  getObject,
  podExists,
  policyObject,
  requestToken,
  untrustedTaint,
  waitFor,
  withOperator,
} from './harness.ts';

const started = withOperator();
let env: Env;
let operator: Runtime;
beforeEach(() => {
  ({ env, operator } = started());
});

const trustLabel = (policy: string) => `trust.trustgate.dev/${policy}`;

describe('drift', () => {
  it('posture drift taints the node, removes governed pods and kills their bound tokens; recovery untaints', async () => {
    const policy = `p-${env.id}-a`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, `${policy}-n1`, policy);
    await createServiceAccount(env, 'runner-a');
    await createGrant(env, 'runner-a', 'runner-a', policy);
    await attest(env, `${policy}-n1`);
    await waitFor(
      async () =>
        (await getNode(env, `${policy}-n1`)).metadata.labels?.[trustLabel(policy)] === 'true',
      'node labelled trusted',
    );
    const status = await waitFor(async () => {
      const a = await getObject<{ status?: { verified?: boolean; trustedBy?: string } }>(
        env,
        'nodeattestations',
        `${policy}-n1`,
      );
      return a.status?.trustedBy === policy ? a.status : undefined;
    }, 'attestation status');
    expect(status.verified).toBe(true);

    const pod = await createPod(env, 'runner-a-1', `${policy}-n1`, 'runner-a');
    const token = await requestToken(env, 'runner-a', {
      name: 'runner-a-1',
      uid: pod.metadata.uid,
    });
    expect(await authenticated(env, token)).toBe(true);

    await attest(env, `${policy}-n1`, { diskEncryption: false });

    const node = await waitFor(async () => {
      const n = await getNode(env, `${policy}-n1`);
      return untrustedTaint(n) ? n : undefined;
    }, 'untrusted taint');
    expect(untrustedTaint(node)?.value).toBe(policy);
    expect(node.metadata.labels?.[trustLabel(policy)]).toBe('false');
    await waitFor(async () => !(await podExists(env, 'runner-a-1')), 'governed pod removed');
    // The API server may cache a successful token check for a few seconds.
    await waitFor(async () => !(await authenticated(env, token)), 'bound token rejected', 30_000);
    const grant = await waitFor(async () => {
      const g = await getObject<{
        status?: { lastRevocation?: { podsRemoved?: number; node?: string } };
      }>(env, 'workloadgrants', 'runner-a', env.ns);
      return g.status?.lastRevocation ? g : undefined;
    }, 'lastRevocation on the grant');
    expect(grant.status?.lastRevocation).toMatchObject({ podsRemoved: 1, node: `${policy}-n1` });
    const record = JSON.parse(node.metadata.annotations?.['trustgate.dev/revocation'] ?? '{}');
    expect(record[policy]?.reasons).toContain('PostureRequirementFailed');

    // Recovery: a good attestation again.
    await attest(env, `${policy}-n1`);
    const recovered = await waitFor(async () => {
      const n = await getNode(env, `${policy}-n1`);
      return !untrustedTaint(n) && n.metadata.labels?.[trustLabel(policy)] === 'true'
        ? n
        : undefined;
    }, 'taint removed on recovery');
    expect(recovered.metadata.annotations?.['trustgate.dev/revocation']).toBeUndefined();
    const metrics = await operator.registry.getSingleMetricAsString('trustgate_revocations_total');
    expect(metrics).toContain('action="ForceDelete"');
  });

  it('spares a pod a TrustExemption selects until it expires, then revokes it', async () => {
    const policy = `p-${env.id}-x`;
    const node = `${policy}-n1`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, node, policy);
    await createServiceAccount(env, 'runner-x');
    await createServiceAccount(env, 'runner-y');
    await createGrant(env, 'runner-x', 'runner-x', policy);
    await createGrant(env, 'runner-y', 'runner-y', policy);
    await attest(env, node);
    await waitFor(
      async () => (await getNode(env, node)).metadata.labels?.[trustLabel(policy)] === 'true',
      'node labelled trusted',
    );
    await createPod(env, 'runner-x-1', node, 'runner-x');
    await createPod(env, 'runner-y-1', node, 'runner-y');
    const expiresAt = Date.now() + 10_000;
    await env.client.create(
      resourcePath({
        group: 'trustgate.dev',
        version: 'v1alpha1',
        plural: 'trustexemptions',
        namespace: env.ns,
      }),
      makeExemption('keep-x', env.ns, {
        policies: [policy],
        serviceAccountNames: ['runner-x'],
        expiresAt: new Date(expiresAt).toISOString(),
      }),
    );
    // The leader has the exemption once the webhook-free operator's cache lists it.
    await waitFor(() => operator.caches.exemptions.get('keep-x', env.ns), 'exemption cached');
    await attest(env, node, { diskEncryption: false });
    await waitFor(async () => !(await podExists(env, 'runner-y-1')), 'governed pod removed');
    expect(Date.now()).toBeLessThan(expiresAt); // else this test proves nothing
    expect(await podExists(env, 'runner-x-1')).toBe(true);
    // No event at expiry: the reconcile scheduled for it removes the pod.
    await waitFor(
      async () => !(await podExists(env, 'runner-x-1')),
      'exempted pod removed at expiry',
    );
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
  });

  it('drifts a node on time when its attestation goes stale with no new event', async () => {
    const policy = `p-${env.id}-stale`;
    await createPolicy(env, policyObject(env, policy, { maxAge: '3s' }));
    await createNode(env, `${policy}-n1`, policy);
    await createServiceAccount(env, 'runner-s');
    await createGrant(env, 'runner-s', 'runner-s', policy);
    await createPod(env, 'runner-s-1', `${policy}-n1`, 'runner-s');
    await attest(env, `${policy}-n1`);
    await waitFor(
      async () =>
        (await getNode(env, `${policy}-n1`)).metadata.labels?.[trustLabel(policy)] === 'true',
      'trusted while fresh',
    );
    // Nothing is written from here on: only the requeue at the staleness moment can act.
    const node = await waitFor(
      async () => {
        const n = await getNode(env, `${policy}-n1`);
        return untrustedTaint(n) ? n : undefined;
      },
      'tainted after going stale',
      15_000,
    );
    const record = JSON.parse(node.metadata.annotations?.['trustgate.dev/revocation'] ?? '{}');
    expect(record[policy]?.reasons).toContain('Stale');
    await waitFor(async () => !(await podExists(env, 'runner-s-1')), 'pod removed after staleness');
  });

  it('revokes on a grant expiry and recreates the service account when the grant says so', async () => {
    const policy = `p-${env.id}-grant`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, `${policy}-n1`, policy);
    const sa = await createServiceAccount(env, 'jit');
    await attest(env, `${policy}-n1`);
    const notAfter = new Date(Date.now() + 4000).toISOString();
    await createGrant(env, 'jit', 'jit', policy, {
      validity: { notAfter },
      rotateServiceAccount: true,
    });
    const pod = await createPod(env, 'jit-1', `${policy}-n1`, 'jit');
    const podToken = await requestToken(env, 'jit', { name: 'jit-1', uid: pod.metadata.uid });
    const saToken = await requestToken(env, 'jit');
    expect(await authenticated(env, saToken)).toBe(true);
    const grant = await waitFor(
      async () => {
        const g = await getObject<{
          status?: {
            conditions?: { type: string; status: string }[];
            lastRevocation?: Record<string, unknown>;
          };
        }>(env, 'workloadgrants', 'jit', env.ns);
        return g.status?.conditions?.find((c) => c.type === 'Revoked' && c.status === 'True')
          ? g
          : undefined;
      },
      'grant revoked at expiry',
      20_000,
    );
    expect(grant.status?.conditions?.find((c) => c.type === 'Expired')?.status).toBe('True');
    expect(grant.status?.conditions?.find((c) => c.type === 'Active')?.status).toBe('False');
    expect(grant.status?.lastRevocation).toMatchObject({
      reason: 'GrantExpired',
      podsRemoved: 1,
      serviceAccountRotated: true,
    });
    expect(await podExists(env, 'jit-1')).toBe(false);
    const newSa = await env.client.get<{ metadata: { uid: string } }>(
      `/api/v1/namespaces/${env.ns}/serviceaccounts/jit`,
    );
    expect(newSa.metadata.uid).not.toBe(sa.metadata.uid);
    await waitFor(
      async () => !(await authenticated(env, saToken)),
      'old SA token rejected',
      30_000,
    );
    await waitFor(
      async () => !(await authenticated(env, podToken)),
      'old pod token rejected',
      30_000,
    );
  });

  it('rotateServiceAccount on drift kills every old token of the account', async () => {
    const policy = `p-${env.id}-rot`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, `${policy}-n1`, policy);
    const sa = await createServiceAccount(env, 'deployer');
    await createGrant(env, 'deployer', 'deployer', policy, { rotateServiceAccount: true });
    await attest(env, `${policy}-n1`);
    await createPod(env, 'deployer-1', `${policy}-n1`, 'deployer');
    const tokens = [await requestToken(env, 'deployer'), await requestToken(env, 'deployer')];
    for (const t of tokens) expect(await authenticated(env, t)).toBe(true);
    await attest(env, `${policy}-n1`, { diskEncryption: false });
    await waitFor(async () => {
      const cur = await env.client.get<{ metadata: { uid: string } }>(
        `/api/v1/namespaces/${env.ns}/serviceaccounts/deployer`,
      );
      return cur.metadata.uid !== sa.metadata.uid;
    }, 'service account recreated');
    for (const t of tokens) {
      await waitFor(async () => !(await authenticated(env, t)), 'old token rejected', 30_000);
    }
  });

  it('resumes watches cut by the server and misses no drift', async () => {
    const policy = `p-${env.id}-cut`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, `${policy}-n1`, policy);
    await createServiceAccount(env, 'runner-c');
    await createGrant(env, 'runner-c', 'runner-c', policy);
    await attest(env, `${policy}-n1`);
    await waitFor(
      async () =>
        (await getNode(env, `${policy}-n1`)).metadata.labels?.[trustLabel(policy)] === 'true',
      'trusted',
    );
    await createPod(env, 'runner-c-1', `${policy}-n1`, 'runner-c');
    const sandbox = env.cluster.sandbox;
    // Cut every watch, write the drift while the operator is reconnecting, cut again.
    sandbox?.dropWatches();
    await attest(env, `${policy}-n1`, { diskEncryption: false });
    sandbox?.dropWatches();
    await waitFor(
      async () => untrustedTaint(await getNode(env, `${policy}-n1`)),
      'taint after cut watches',
    );
    await waitFor(
      async () => !(await podExists(env, 'runner-c-1')),
      'pod removed after cut watches',
    );
    if (sandbox) {
      expect(operator.caches.status().every((c) => c.synced)).toBe(true);
    }
  });
});
