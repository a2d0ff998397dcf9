// TrustExemptions at admission: what they select, that they end by themselves at expiresAt
// (an injected clock, no restart), and that an over-long one never applies.
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { TrustExemption } from '../../../operator/api/types.generated.ts';
import { admit } from '../../../webhook/admit.ts';
import { decodeAdmissionReview, type Verdict } from '../../../webhook/codec.ts';
import {
  bindingReview,
  buildWorld,
  makeExemption,
  makeGrant,
  makePolicy,
  makeVerifierKey,
  podReview,
  runnerPod,
  signAttestation,
  tokenRequestReview,
  type VerifierKey,
} from './world.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
let key: VerifierKey;
let drifted: string;

beforeAll(async () => {
  key = await makeVerifierKey();
  drifted = await signAttestation(key, 'runner-2', NOW, { diskEncryption: false, patchAgeDays: 1 });
});

/** A pod on the untrusted runner-2 (denied without an exemption), judged at `now`. */
async function judge(
  exemptions: TrustExemption[],
  o: { now?: number; body?: unknown; policies?: string[] } = {},
): Promise<Verdict> {
  const world = await buildWorld({
    policies: (o.policies ?? ['ci-runners']).map((p) => makePolicy(p, key)),
    nodes: [{ name: 'runner-2', labels: { pool: 'ci' }, token: drifted }],
    grants: [makeGrant('runner', 'ci', 'runner', 'ci-runners')],
    namespaces: { ci: {}, other: {} },
    pods: [
      {
        metadata: { name: 'r1', namespace: 'ci', labels: { app: 'runner' } },
        spec: { serviceAccountName: 'runner', nodeName: 'runner-2' },
      },
    ],
    exemptions,
  });
  const body =
    o.body ?? podReview(runnerPod('r1', { nodeName: 'runner-2', labels: { app: 'runner' } }), 'ci');
  return admit(decodeAdmissionReview(JSON.stringify(body)), world.caches, o.now ?? NOW);
}

const until = (ms: number, spec: Partial<TrustExemption['spec']> = {}, ns = 'ci') =>
  makeExemption('inc-1', ns, { expiresAt: iso(ms), ...spec }, iso(NOW - HOUR));

describe('TrustExemption at admission', () => {
  it('denies the pod without one', async () => {
    const v = await judge([]);
    expect(v.allowed).toBe(false);
    expect(v.message).toContain('posture diskEncryption is false');
  });

  it('admits a denied pod until expiresAt, then no longer (same caches, later clock)', async () => {
    const ex = [until(NOW + HOUR)];
    const v = await judge(ex);
    expect(v).toMatchObject({
      allowed: true,
      exempted: [{ policy: 'ci-runners', exemption: 'ci/inc-1', reason: 'break-glass inc-1' }],
    });
    expect(v.warnings).toEqual([
      `trustgate: policy ci-runners lifted by exemption ci/inc-1 until ${iso(NOW + HOUR)}: break-glass inc-1`,
    ]);
    expect(JSON.parse(v.auditAnnotations.exempted ?? '[]')).toHaveLength(1);
    expect((await judge(ex, { now: NOW + HOUR - 1 })).allowed).toBe(true);
    const after = await judge(ex, { now: NOW + HOUR });
    expect(after.allowed).toBe(false);
    expect(after.exempted).toBeUndefined();
  });

  it('never applies when it lasts more than 7 days from its creation', async () => {
    const created = NOW - HOUR;
    const long = makeExemption(
      'long',
      'ci',
      { expiresAt: iso(created + 7 * 24 * HOUR + 1) },
      iso(created),
    );
    expect((await judge([long])).allowed).toBe(false);
    const exact = makeExemption(
      'ok',
      'ci',
      { expiresAt: iso(created + 7 * 24 * HOUR) },
      iso(created),
    );
    expect((await judge([exact])).allowed).toBe(true);
    // A manifest not yet created (the CLI) is bounded from now.
    const uncreated = makeExemption('new', 'ci', { expiresAt: iso(NOW + 8 * 24 * HOUR) });
    expect((await judge([uncreated])).allowed).toBe(false);
  });

  it.each<[string, Partial<TrustExemption['spec']>, boolean]>([
    ['its policy', { policies: ['ci-runners'] }, true],
    ['another policy', { policies: ['prod'] }, false],
    ['the pod labels', { podSelector: { matchLabels: { app: 'runner' } } }, true],
    ['other labels', { podSelector: { matchLabels: { app: 'web' } } }, false],
    ['its service account', { serviceAccountNames: ['runner'] }, true],
    ['another service account', { serviceAccountNames: ['builder'] }, false],
    ['its node', { nodeNames: ['runner-2'] }, true],
    ['another node', { nodeNames: ['runner-1'] }, false],
  ])('selecting %s: applies = %s', async (_what, spec, applies) => {
    expect((await judge([until(NOW + HOUR, spec)])).allowed).toBe(applies);
  });

  it("reaches its own namespace only, except from trustgate's namespace", async () => {
    expect((await judge([until(NOW + HOUR, {}, 'other')])).allowed).toBe(false);
    expect((await judge([until(NOW + HOUR, {}, 'trustgate-system')])).allowed).toBe(true);
  });

  it('lifts binding to and the kubelet token refresh on an exempted node', async () => {
    const ex = [until(NOW + HOUR, { nodeNames: ['runner-2'] })];
    expect((await judge([], { body: bindingReview('ci', 'r1', 'runner-2') })).allowed).toBe(false);
    const bind = await judge(ex, { body: bindingReview('ci', 'r1', 'runner-2') });
    expect(bind).toMatchObject({ allowed: true, exempted: [{ exemption: 'ci/inc-1' }] });
    const refresh = tokenRequestReview(
      'ci',
      'runner',
      { boundPod: 'r1', audiences: ['https://kubernetes.default.svc.cluster.local'] },
      'system:node:runner-2',
    );
    expect((await judge([], { body: refresh })).allowed).toBe(false);
    expect(await judge(ex, { body: refresh })).toMatchObject({
      allowed: true,
      exempted: [{ exemption: 'ci/inc-1' }],
    });
    expect((await judge(ex, { body: refresh, now: NOW + HOUR })).allowed).toBe(false);
  });
});

describe('TrustExemption semantic checks', () => {
  const review = (ex: TrustExemption) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'u1',
      kind: { group: 'trustgate.dev', version: 'v1alpha1', kind: 'TrustExemption' },
      resource: { group: 'trustgate.dev', version: 'v1alpha1', resource: 'trustexemptions' },
      name: ex.metadata.name,
      namespace: ex.metadata.namespace,
      operation: 'CREATE',
      userInfo: { username: 'oncall' },
      object: ex,
    },
  });

  it('refuses an expiry more than 7 days after creation, with the field path', async () => {
    const v = await judge([], {
      body: review(makeExemption('x', 'ci', { expiresAt: iso(NOW + 8 * 24 * HOUR) })),
    });
    expect(v).toMatchObject({ allowed: false, code: 422 });
    expect(v.causes?.[0]?.field).toBe('spec.expiresAt');
    expect(v.message).toContain('at most 7 days');
  });

  it('admits a week-long one and warns about one already expired', async () => {
    const ok = await judge([], {
      body: review(makeExemption('x', 'ci', { expiresAt: iso(NOW + 7 * 24 * HOUR) })),
    });
    expect(ok).toMatchObject({ allowed: true, warnings: [] });
    const past = await judge([], {
      body: review(makeExemption('x', 'ci', { expiresAt: iso(NOW - 1) })),
    });
    expect(past.warnings).toEqual([
      'spec.expiresAt: the exemption has already expired; it does not apply',
    ]);
  });
});
