import { beforeAll, describe, expect, it } from '@jest/globals';
import { type AdmissionConfig, admit } from '../../../webhook/admit.ts';
import { decodeAdmissionReview, type Verdict } from '../../../webhook/codec.ts';
import { NOT_READY } from '../../../webhook/handlers/common.ts';
import {
  bindingReview,
  buildWorld,
  makeGrant,
  makePolicy,
  makeVerifierKey,
  nodeAttestation,
  podReview,
  runnerPod,
  signAttestation,
  tokenRequestReview,
  type VerifierKey,
  type World,
} from './world.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
let key: VerifierKey;
let world: World;

async function judge(
  body: unknown,
  w: World = world,
  now = NOW,
  config?: AdmissionConfig,
): Promise<Verdict> {
  return admit(decodeAdmissionReview(JSON.stringify(body)), w.caches, now, config);
}

beforeAll(async () => {
  key = await makeVerifierKey();
  const good = await signAttestation(key, 'runner-1', NOW);
  const drifted = await signAttestation(key, 'runner-2', NOW, {
    diskEncryption: false,
    patchAgeDays: 3,
  });
  world = await buildWorld({
    policies: [makePolicy('ci-runners', key)],
    nodes: [
      { name: 'runner-1', labels: { pool: 'ci' }, token: good },
      { name: 'runner-2', labels: { pool: 'ci' }, token: drifted },
      { name: 'runner-3', labels: { pool: 'ci' } },
      { name: 'web-1', labels: { pool: 'web' }, token: await signAttestation(key, 'web-1', NOW) },
    ],
    grants: [
      makeGrant('runner', 'ci', 'runner', 'ci-runners', {
        audiences: ['vault', 'https://kubernetes.default.svc.cluster.local'],
        maxExpirationSeconds: 3600,
      }),
    ],
    namespaces: { ci: {}, default: {} },
    pods: [
      {
        metadata: { name: 'r1', namespace: 'ci', labels: { app: 'runner' } },
        spec: { serviceAccountName: 'runner' },
      },
      { metadata: { name: 'd1', namespace: 'default' }, spec: { serviceAccountName: 'default' } },
    ],
    legacyTokenSecrets: ['ci/runner-token-abc'],
  });
});

describe('pods CREATE', () => {
  it('admits a granted pod on a trusted node', async () => {
    const v = await judge(podReview(runnerPod('r1', { nodeName: 'runner-1' }), 'ci'));
    expect(v.allowed).toBe(true);
    expect(v.policies).toEqual(['ci-runners']);
    expect(v.auditAnnotations.policies).toBe('ci-runners');
  });

  it('admits a granted pod without a node (the binding is checked later)', async () => {
    expect((await judge(podReview(runnerPod('r1'), 'ci'))).allowed).toBe(true);
  });

  it('denies a pod on a drifted node naming policy, node and requirement', async () => {
    const v = await judge(podReview(runnerPod('r1', { nodeName: 'runner-2' }), 'ci'));
    expect(v.allowed).toBe(false);
    expect(v.code).toBe(403);
    expect(v.message).toBe(
      'node runner-2: posture diskEncryption is false; policy ci-runners requires Equals "true"',
    );
    expect(v.reasonCodes).toEqual(['PostureRequirementFailed']);
  });

  it('denies a pod on an unattested node and one outside the pool', async () => {
    expect(
      (await judge(podReview(runnerPod('r1', { nodeName: 'runner-3' }), 'ci'))).reasonCodes,
    ).toEqual(['NotAttested']);
    expect(
      (await judge(podReview(runnerPod('r1', { nodeName: 'web-1' }), 'ci'))).reasonCodes,
    ).toEqual(['NotInNodePool']);
  });

  it('denies a pod on a node whose attestation went stale', async () => {
    const v = await judge(
      podReview(runnerPod('r1', { nodeName: 'runner-1' }), 'ci'),
      world,
      NOW + 10 * 60_000,
    );
    expect(v.allowed).toBe(false);
    expect(v.reasonCodes).toEqual(['Stale']);
  });

  it('denies a service account without a grant', async () => {
    const v = await judge(podReview(runnerPod('r1', { serviceAccount: 'intruder' }), 'ci'));
    expect(v.allowed).toBe(false);
    expect(v.reasonCodes).toEqual(['GrantMissing']);
    expect(v.message).toContain('pod ci/r1 (service account intruder)');
    expect(v.message).toContain('policy ci-runners requires an active grant');
  });

  it('denies a projected token beyond the grant (lifetime, audience)', async () => {
    const long = await judge(podReview(runnerPod('r1', { expirationSeconds: 86400 }), 'ci'));
    expect(long.reasonCodes).toEqual(['TokenExpirationTooLong']);
    const aud = await judge(podReview(runnerPod('r1', { audience: 'aws' }), 'ci'));
    expect(aud.reasonCodes).toEqual(['AudienceNotGranted']);
  });

  it('denies a volume of a legacy token Secret', async () => {
    const v = await judge(podReview(runnerPod('r1', { secretVolume: 'runner-token-abc' }), 'ci'));
    expect(v.reasonCodes).toEqual(['LegacyTokenSecret']);
    const ok = await judge(podReview(runnerPod('r1', { secretVolume: 'config' }), 'ci'));
    expect(ok.allowed).toBe(true);
  });

  it('ignores pods of namespaces no policy governs', async () => {
    const v = await judge(
      podReview(runnerPod('x', { serviceAccount: 'default', nodeName: 'runner-2' }), 'default'),
    );
    expect(v).toMatchObject({ allowed: true, policies: [] });
  });

  it('lists every failed requirement of every enforcing policy', async () => {
    const v = await judge(
      podReview(runnerPod('r1', { serviceAccount: 'intruder', nodeName: 'runner-2' }), 'ci'),
    );
    expect(v.reasonCodes.sort()).toEqual(['GrantMissing', 'PostureRequirementFailed']);
  });
});

describe('pods/ephemeralcontainers UPDATE', () => {
  it('judges the updated pod like a new one', async () => {
    const pod = runnerPod('r1', { nodeName: 'runner-2' });
    (pod.spec as Record<string, unknown>).ephemeralContainers = [
      { name: 'debug', image: 'busybox' },
    ];
    const v = await judge(
      podReview(pod, 'ci', { operation: 'UPDATE', subResource: 'ephemeralcontainers' }),
    );
    expect(v.allowed).toBe(false);
    expect(v.reasonCodes).toEqual(['PostureRequirementFailed']);
  });

  it('leaves ordinary pod updates alone (not registered)', async () => {
    const v = await judge(
      podReview(runnerPod('r1', { nodeName: 'runner-2' }), 'ci', { operation: 'UPDATE' }),
    );
    expect(v.allowed).toBe(true);
  });
});

describe('pods/binding CREATE', () => {
  it('allows binding a governed pod to a trusted node', async () => {
    expect((await judge(bindingReview('ci', 'r1', 'runner-1'))).allowed).toBe(true);
  });

  it('refuses binding a governed pod to a drifted, unattested or foreign node', async () => {
    const cases: [string, string][] = [
      ['runner-2', 'PostureRequirementFailed'],
      ['runner-3', 'NotAttested'],
      ['web-1', 'NotInNodePool'],
      ['ghost', 'UnknownNode'],
    ];
    for (const [node, code] of cases) {
      const v = await judge(bindingReview('ci', 'r1', node));
      expect(v.allowed).toBe(false);
      expect(v.reasonCodes).toEqual([code]);
      expect(v.message).toContain(`node ${node}`);
    }
  });

  it('allows binding ungoverned pods anywhere', async () => {
    expect((await judge(bindingReview('default', 'd1', 'runner-2'))).allowed).toBe(true);
  });

  it('answers not ready for a governed namespace whose pod is not cached yet', async () => {
    const v = await judge(bindingReview('ci', 'brand-new', 'runner-1'));
    expect(v).toMatchObject({ allowed: false, code: 503 });
    expect(v.message).toContain('pod ci/brand-new is not in its cache yet');
  });

  it('refuses a binding that names no node', async () => {
    const body = bindingReview('ci', 'r1', 'runner-1');
    (body.request.object as Record<string, unknown>).target = {};
    expect(await judge(body)).toMatchObject({ allowed: false, code: 400 });
  });
});

describe('a trusted node whose attestation is being refreshed', () => {
  it('keeps its pods, bindings and kubelet tokens until the new token is judged', async () => {
    const w = await buildWorld({
      policies: [makePolicy('ci-runners', key)],
      nodes: [
        {
          name: 'runner-1',
          labels: { pool: 'ci' },
          token: await signAttestation(key, 'runner-1', NOW),
        },
      ],
      grants: [makeGrant('runner', 'ci', 'runner', 'ci-runners')],
      pods: [
        {
          metadata: { name: 'r1', namespace: 'ci', labels: { app: 'runner' } },
          spec: { serviceAccountName: 'runner' },
        },
      ],
    });
    const drifted = await signAttestation(key, 'runner-1', NOW, { diskEncryption: false });
    const requests = [
      podReview(runnerPod('r1', { nodeName: 'runner-1' }), 'ci'),
      bindingReview('ci', 'r1', 'runner-1'),
      tokenRequestReview('ci', 'runner', { boundPod: 'r1' }, 'system:node:runner-1'),
    ];
    const judgeAll = () =>
      requests.map((b) => admit(decodeAdmissionReview(b), w.caches, NOW) as Verdict);
    w.trust.upsertAttestation(nodeAttestation('runner-1', drifted));
    // Synchronously, before the new token's signature check can land.
    expect(judgeAll().map((v) => v.allowed)).toEqual([true, true, true]);
    await w.trust.settled();
    expect(judgeAll().map((v) => v.reasonCodes)).toEqual(
      requests.map(() => ['PostureRequirementFailed']),
    );
  });
});

describe('serviceaccounts/token CREATE', () => {
  it('gives a kubelet on a trusted node a token for a governed pod', async () => {
    const v = await judge(
      tokenRequestReview(
        'ci',
        'runner',
        { boundPod: 'r1', expirationSeconds: 3607 },
        'system:node:runner-1',
      ),
    );
    expect(v.allowed).toBe(true);
  });

  it('refuses a kubelet on a drifted node', async () => {
    const v = await judge(
      tokenRequestReview(
        'ci',
        'runner',
        { boundPod: 'r1', expirationSeconds: 3607 },
        'system:node:runner-2',
      ),
    );
    expect(v.allowed).toBe(false);
    expect(v.reasonCodes).toEqual(['PostureRequirementFailed']);
    expect(v.message).toContain('node runner-2');
  });

  it('holds any requester to the grant: audiences and lifetime', async () => {
    expect(
      (await judge(tokenRequestReview('ci', 'runner', { audiences: ['vault'] }))).allowed,
    ).toBe(true);
    const aud = await judge(tokenRequestReview('ci', 'runner', { audiences: ['vault', 'aws'] }));
    expect(aud.allowed).toBe(false);
    expect(aud.reasonCodes).toEqual(['AudienceNotGranted']);
    expect(aud.message).toMatch(/^TokenRequest for service account ci\/runner: /);
    const long = await judge(tokenRequestReview('ci', 'runner', { expirationSeconds: 7200 }));
    expect(long.reasonCodes).toEqual(['TokenExpirationTooLong']);
  });

  it('refuses tokens for a governed pod whose service account lost its grant', async () => {
    const v = await judge(tokenRequestReview('ci', 'intruder', { boundPod: 'r1' }));
    expect(v.reasonCodes).toEqual(['GrantMissing']);
  });

  it('ignores service accounts nothing governs', async () => {
    const v = await judge(
      tokenRequestReview('default', 'default', {
        audiences: ['anything'],
        expirationSeconds: 86400,
      }),
    );
    expect(v.allowed).toBe(true);
  });
});

describe('audit mode', () => {
  it('admits with warnings and audit annotations', async () => {
    const audit = await buildWorld({
      policies: [makePolicy('ci-audit', key, { mode: 'Audit' })],
      nodes: [{ name: 'runner-3', labels: { pool: 'ci' } }],
      grants: [makeGrant('runner', 'ci', 'runner', 'ci-audit')],
    });
    const v = await judge(podReview(runnerPod('r1', { nodeName: 'runner-3' }), 'ci'), audit);
    expect(v.allowed).toBe(true);
    expect(v.warnings).toEqual([
      expect.stringMatching(
        /^trustgate audit \(policy ci-audit, not enforced\): node runner-3: the node has no NodeAttestation/,
      ),
    ]);
    expect(JSON.parse(v.auditAnnotations['audit-violations'] ?? 'null')).toEqual([
      { policy: 'ci-audit', reasons: ['NotAttested'] },
    ]);
  });
});

describe('exemptions', () => {
  it('lifts a policy until the exemption expires', async () => {
    const exempt = await buildWorld({
      policies: [
        makePolicy('ci-runners', key, {
          exemptions: [
            {
              name: 'incident-42',
              namespaces: ['ci'],
              expiresAt: new Date(NOW + 3600_000).toISOString(),
              reason: 'outage',
            },
          ],
        }),
      ],
      nodes: [{ name: 'runner-3', labels: { pool: 'ci' } }],
    });
    const body = () => podReview(runnerPod('r1', { nodeName: 'runner-3' }), 'ci');
    expect((await judge(body(), exempt)).allowed).toBe(true);
    expect((await judge(body(), exempt, NOW + 2 * 3600_000)).allowed).toBe(false);
  });
});

describe('before the caches sync', () => {
  it('denies pods, bindings and token requests as not ready (fail closed)', async () => {
    const cold = await buildWorld({ policies: [], nodes: [], synced: false });
    for (const body of [
      podReview(runnerPod('x', { serviceAccount: 'default' }), 'default'),
      bindingReview('default', 'd1', 'runner-1'),
      tokenRequestReview('default', 'default', {}),
    ]) {
      const v = await judge(body, cold);
      expect(v).toMatchObject({ allowed: false, code: 503, message: NOT_READY });
    }
  });

  it('answers not ready for a namespace missing from a synced cache when policies select by label', async () => {
    const v = await judge(podReview(runnerPod('x'), 'new-ns'));
    expect(v).toMatchObject({ allowed: false, code: 503 });
    expect(v.message).toContain('namespace new-ns is not in its cache yet');
  });
});

describe('trustgate resources', () => {
  const policyReview = (object: Record<string, unknown>) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'p-1',
      kind: { group: 'trustgate.dev', version: 'v1alpha1', kind: 'EndpointTrustPolicy' },
      resource: { group: 'trustgate.dev', version: 'v1alpha1', resource: 'endpointtrustpolicies' },
      name: 'ci-runners',
      operation: 'CREATE',
      userInfo: { username: 'admin' },
      object,
    },
  });

  it('admits a good policy', async () => {
    expect((await judge(policyReview(makePolicy('ci-runners', key) as never))).allowed).toBe(true);
  });

  it('refuses a policy with an unusable JWKS and a bad selector, with field paths', async () => {
    const bad = makePolicy('ci-runners', key);
    (bad.spec.attestation.verifiers[0] as { jwks?: unknown }).jwks = {
      keys: [{ kty: 'EC', crv: 'P-256', x: 'nope' }],
    };
    bad.spec.nodeSelector = { matchLabels: { 'bad key!': 'x' } };
    const v = await judge(policyReview(bad as never));
    expect(v).toMatchObject({ allowed: false, code: 422, statusReason: 'Invalid' });
    const fields = v.causes?.map((c) => c.field) ?? [];
    expect(fields).toEqual(
      expect.arrayContaining([
        'spec.nodeSelector.matchLabels',
        expect.stringMatching(/^spec\.attestation\.verifiers\[0\]\.jwks/),
      ]),
    );
    expect(v.message).toContain('EndpointTrustPolicy.trustgate.dev "ci-runners" is invalid');
  });
});

describe("pods' default token on an API server with its own issuer (apiAudiences)", () => {
  const issuer = 'https://oidc.example.com/clusters/c1';
  const config = { apiAudiences: [issuer] };
  const worldWith = (audiences: string[]) =>
    buildWorld({
      policies: [makePolicy('ci-runners', key)],
      nodes: [],
      grants: [makeGrant('runner', 'ci', 'runner', 'ci-runners', { audiences })],
    });
  const debugged = runnerPod('r1');
  (debugged.spec as Record<string, unknown>).ephemeralContainers = [{ name: 'dbg', image: 'b' }];
  const reviews = [
    podReview(runnerPod('r1'), 'ci'),
    podReview(debugged, 'ci', { operation: 'UPDATE', subResource: 'ephemeralcontainers' }),
  ];

  it('admits pods and ephemeral containers when the grant lists the issuer', async () => {
    const w = await worldWith(['vault', issuer]);
    for (const body of reviews) {
      expect((await judge(body, w, NOW, config)).allowed).toBe(true);
    }
  });

  it("denies them when the grant lists only other audiences, even kube's default", async () => {
    const w = await worldWith(['vault', 'https://kubernetes.default.svc.cluster.local']);
    for (const body of reviews) {
      expect((await judge(body, w, NOW, config)).reasonCodes).toEqual(['AudienceNotGranted']);
    }
  });
});

describe('TokenRequest audiences the API server filled in', () => {
  it('count as its default audience, and do not widen a narrowed grant', async () => {
    const w = await buildWorld({
      policies: [makePolicy('ci-runners', key)],
      nodes: [],
      grants: [
        makeGrant('runner', 'ci', 'runner', 'ci-runners'),
        makeGrant('vault-only', 'ci', 'vault-only', 'ci-runners', { audiences: ['vault'] }),
        makeGrant('issuer', 'ci', 'issuer', 'ci-runners', {
          audiences: ['vault', 'https://issuer.example'],
        }),
      ],
    });
    const config = { apiAudiences: ['https://issuer.example'] };
    const run = (sa: string, audiences: string[]) =>
      admit(
        decodeAdmissionReview(tokenRequestReview('ci', sa, { audiences })),
        w.caches,
        NOW,
        config,
      );
    expect((await run('runner', ['https://issuer.example'])).allowed).toBe(true);
    expect((await run('runner', ['https://elsewhere.example'])).allowed).toBe(false);
    expect((await run('vault-only', ['vault'])).allowed).toBe(true);
    expect((await run('issuer', ['https://issuer.example'])).allowed).toBe(true);
    expect((await run('vault-only', ['vault', 'https://issuer.example'])).reasonCodes).toEqual([
      'AudienceNotGranted',
    ]);
  });
});
