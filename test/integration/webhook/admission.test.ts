// The API server calls trustgate's webhook over HTTPS, exactly as kube-apiserver does:
// pods, bindings and kubelet TokenRequests are admitted or denied by node trust.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../../../operator/kube/rest.ts';
import {
  makeExemption,
  makeGrant,
  makePolicy,
  runnerPod,
  signAttestation,
} from '../../unit/webhook/world.ts';
import {
  applyAttestation,
  createNamespace,
  createNode,
  createPolicy,
  createServiceAccount,
  kubeletClient,
  setupWebhookEnv,
  TG,
  type WebhookEnv,
  waitFor,
} from './env.ts';

let env: WebhookEnv;
let ns: string;
let auditNs: string;
let policy: string;
const node = (n: string) => `${n}-${env.id}`;

async function createPod(namespace: string, pod: Record<string, unknown>) {
  return env.client.create(`/api/v1/namespaces/${namespace}/pods`, pod);
}

async function rejection(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  throw new Error('the request was admitted');
}

/** How trustgate denies while a node's first token is still being checked (fail closed). */
const VERIFICATION_PENDING = 'the attestation signature is still being checked';

/**
 * The denial once trustgate has judged the node's attestation: until the signature check
 * of a node's first token lands, the answer is the fail-closed pending denial.
 */
function judgedRejection(request: () => Promise<unknown>, what: string): Promise<KubeApiError> {
  return waitFor(async () => {
    const e = await rejection(request());
    return e.message.includes(VERIFICATION_PENDING) ? undefined : e;
  }, what);
}

beforeAll(async () => {
  env = await setupWebhookEnv();
  ns = `ci-${env.id}`;
  auditNs = `audit-${env.id}`;
  policy = `ci-runners-${env.id}`;
  await createNamespace(env, ns);
  await createNamespace(env, auditNs);
  await createServiceAccount(env, ns, 'runner');
  await createServiceAccount(env, auditNs, 'runner');
  const pool = `wh-${env.id}`;
  for (const n of ['good', 'drifting', 'bad', 'silent']) await createNode(env, node(n), { pool });
  const now = Date.now();
  await applyAttestation(env, node('good'), await signAttestation(env.key, node('good'), now));
  await applyAttestation(
    env,
    node('drifting'),
    await signAttestation(env.key, node('drifting'), now),
  );
  await applyAttestation(
    env,
    node('bad'),
    await signAttestation(env.key, node('bad'), now, { diskEncryption: false, patchAgeDays: 2 }),
  );
  await createPolicy(env, makePolicy(policy, env.key, { pool, namespaces: [ns] }));
  await createPolicy(
    env,
    makePolicy(`audit-${env.id}`, env.key, { pool, namespaces: [auditNs], mode: 'Audit' }),
  );
  for (const [namespace, p] of [
    [ns, policy],
    [auditNs, `audit-${env.id}`],
  ]) {
    await env.client.create(
      `/apis/${TG.group}/${TG.version}/namespaces/${namespace}/workloadgrants`,
      makeGrant('runner', namespace as string, 'runner', p as string),
    );
  }
  await env.start();
  // The caches have seen everything above once a pod on the good node is admitted.
  await waitFor(
    () => createPod(ns, runnerPod('warmup', { nodeName: node('good') })).then(() => true),
    'trustgate to admit on a trusted node',
  );
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('pods', () => {
  it('admits a runner pod on a trusted node', async () => {
    const pod = await createPod(ns, runnerPod('on-good', { nodeName: node('good') }));
    expect((pod as { spec: { nodeName: string } }).spec.nodeName).toBe(node('good'));
  });

  it('rejects it on an untrusted node with a 403 naming policy, node and requirement', async () => {
    const err = await judgedRejection(
      () => createPod(ns, runnerPod('on-bad', { nodeName: node('bad') })),
      'the posture verdict on the untrusted node',
    );
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain(
      `admission webhook "${policy}.workloads.trustgate.dev" denied the request: node ${node('bad')}: posture diskEncryption is false; policy ${policy} requires Equals "true"`,
    );
  });

  it('rejects it on a node that never attested', async () => {
    const err = await rejection(
      createPod(ns, runnerPod('on-silent', { nodeName: node('silent') })),
    );
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain(`node ${node('silent')}: the node has no NodeAttestation`);
  });

  it('rejects a service account without a grant', async () => {
    const err = await rejection(
      createPod(ns, runnerPod('no-grant', { serviceAccount: 'default' })),
    );
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain('requires an active grant');
  });
});

describe("the API server's own audience", () => {
  // A pod that names no token: the ServiceAccount admission plugin adds kube-api-access-*,
  // whose token has no audience and so gets the API server's (its service-account issuer,
  // which is not kube's in-cluster default on the sandbox or on managed clusters).
  const plainPod = (name: string, serviceAccountName: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'runner' } },
    spec: { serviceAccountName, containers: [{ name: 'c', image: 'ghcr.io/example/runner:1.0' }] },
  });
  const grantFor = async (sa: string, audiences: string[]) => {
    await createServiceAccount(env, ns, sa);
    await env.client.create(
      `/apis/${TG.group}/${TG.version}/namespaces/${ns}/workloadgrants`,
      makeGrant(sa, ns, sa, policy, { audiences }),
    );
  };

  it('admits a pod with the default token volume when the grant lists the issuer', async () => {
    const { issuer } = await env.client.get<{ issuer: string }>(
      '/.well-known/openid-configuration',
    );
    await grantFor('api-client', ['vault', issuer]);
    await grantFor('vault-only', ['vault']);
    // Until trustgate's cache has the grant the answer is GrantMissing; retry until admitted.
    const pod = await waitFor(
      () => createPod(ns, plainPod('default-token', 'api-client')),
      'a pod of a grant that lists the issuer admitted',
    );
    const { spec } = pod as { spec: { volumes?: { name: string }[] } };
    expect(spec.volumes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: expect.stringMatching(/^kube-api-access-/) }),
      ]),
    );
    // The same pod under a grant narrowed to vault is denied for that token's audience.
    const err = await waitFor(async () => {
      const e = await rejection(createPod(ns, plainPod('vault-token', 'vault-only')));
      return e.message.includes('has no audience') ? e : undefined;
    }, 'a pod of a vault-only grant denied for its default token');
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain(issuer);
  });
});

describe('bindings', () => {
  it('refuses binding a governed pod to an untrusted node and allows a trusted one', async () => {
    await createPod(ns, runnerPod('unscheduled'));
    const bind = (target: string) =>
      env.client.create(`/api/v1/namespaces/${ns}/pods/unscheduled/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'unscheduled', namespace: ns },
        target: { apiVersion: 'v1', kind: 'Node', name: target },
      });
    // The pod must reach trustgate's cache first (until then the answer is "not ready").
    const err = await waitFor(async () => {
      const e = await rejection(bind(node('bad')));
      return e.statusCode === 403 && !e.message.includes(VERIFICATION_PENDING) ? e : undefined;
    }, 'binding refusal');
    expect(err.message).toContain(`node ${node('bad')}: posture diskEncryption is false`);
    await bind(node('good'));
    const pod = await env.client.get<{ spec: { nodeName?: string } }>(
      `/api/v1/namespaces/${ns}/pods/unscheduled`,
    );
    expect(pod.spec.nodeName).toBe(node('good'));
  });
});

describe('kubelet token requests', () => {
  it('refuses a TokenRequest from a drifted node while a trusted node gets one', async () => {
    await createPod(ns, runnerPod('on-drifting', { nodeName: node('drifting') }));
    await createPod(ns, runnerPod('on-good-2', { nodeName: node('good') }));
    const tokenFor = (kubelet: string, pod: string) =>
      waitFor(async () => {
        const p = await env.client.get<{ metadata: { uid: string } }>(
          `/api/v1/namespaces/${ns}/pods/${pod}`,
        );
        return p.metadata.uid;
      }, 'pod').then(async (uid) =>
        (await kubeletClient(env, kubelet)).create(
          `/api/v1/namespaces/${ns}/serviceaccounts/runner/token`,
          {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: {
              audiences: [],
              expirationSeconds: 3607,
              boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod, uid },
            },
          },
        ),
      );
    // Before the drift both kubelets get tokens.
    await waitFor(
      () => tokenFor(node('drifting'), 'on-drifting').then(() => true),
      'token before drift',
    );
    // The node drifts: its verifier reports disk encryption off.
    await applyAttestation(
      env,
      node('drifting'),
      await signAttestation(env.key, node('drifting'), Date.now(), {
        diskEncryption: false,
        patchAgeDays: 2,
      }),
    );
    const err = await waitFor(async () => {
      const e = await rejection(tokenFor(node('drifting'), 'on-drifting')).catch(() => undefined);
      // Until the new token's signature check lands the node's last verified (trusted)
      // decision stands and the token is issued; wait for the verdict on the new posture.
      return e?.statusCode === 403 && e.message.includes('posture') ? e : undefined;
    }, 'token refusal after drift');
    expect(err.message).toContain(
      `node ${node('drifting')}: posture diskEncryption is false; policy ${policy}`,
    );
    const ok = (await tokenFor(node('good'), 'on-good-2')) as { status?: { token?: string } };
    expect(ok.status?.token).toEqual(expect.any(String));
  });
});

describe('audit mode', () => {
  it('admits with warnings', async () => {
    const pod = runnerPod('audited', { nodeName: node('bad') });
    (pod.metadata as Record<string, unknown>).namespace = auditNs;
    const res = await env.cluster.kubectl(['create', '-f', '-', '-n', auditNs], {
      input: JSON.stringify(pod),
    });
    expect(res.code).toBe(0);
    expect(res.stderr).toContain(
      `Warning: trustgate audit (policy audit-${env.id}, not enforced): node ${node('bad')}: posture diskEncryption is false`,
    );
  });
});

describe('TrustExemption', () => {
  const exemptions = () => `/apis/${TG.group}/${TG.version}/namespaces/${ns}/trustexemptions`;
  let n = 0;
  const incidentPod = () =>
    createPod(
      ns,
      runnerPod(`incident-${++n}`, { nodeName: node('bad'), labels: { incident: 'inc-1' } }),
    );

  it('refuses an expiry more than 7 days away', async () => {
    const tooLong = makeExemption('too-long', ns, {
      expiresAt: new Date(Date.now() + 8 * 24 * 3600_000).toISOString(),
    });
    const err = await rejection(env.client.create(exemptions(), tooLong));
    expect(err.statusCode).toBe(422);
    expect(err.message).toContain('spec.expiresAt');
  });

  it('admits a denied pod until it expires, then no longer does', async () => {
    // Denied first: the untrusted node fails the policy.
    await judgedRejection(incidentPod, 'the denial on the untrusted node');
    const expiresAt = Date.now() + 8_000;
    await env.client.create(
      exemptions(),
      makeExemption('inc-1', ns, {
        podSelector: { matchLabels: { incident: 'inc-1' } },
        expiresAt: new Date(expiresAt).toISOString(),
        reason: 'INC-1: disk encryption agent rollout',
      }),
    );
    // Admitted once the informer has it; no restart, no edit, at expiry it stops applying.
    await waitFor(() => incidentPod().then(() => true), 'the exemption to admit the pod');
    const err = await waitFor(
      () => rejection(incidentPod()),
      'the exemption to stop applying at its expiry',
    );
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(err.statusCode).toBe(403);
    expect(err.message).toContain('posture diskEncryption is false');
  });
});
