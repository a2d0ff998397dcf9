// The pure report builder: results from the webhook's own decisions, the Audit/Enforce
// convention, timestamps carried over so an unchanged report compares equal.
import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import {
  MAX_RESULTS,
  nodeReport,
  nodeResults,
  podResults,
  policyReport,
  ResultSet,
  reportFingerprint,
  ruleCount,
} from '../../../operator/reports/build.ts';
import { admit } from '../../../webhook/admit.ts';
import { decodeAdmissionReview, type Verdict } from '../../../webhook/codec.ts';
import { podDecisions } from '../../../webhook/handlers/pods.ts';
import {
  buildWorld,
  makeGrant,
  makePolicy,
  makeVerifierKey,
  podReview,
  signAttestation,
} from '../webhook/world.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const AUDIENCES = ['https://kubernetes.default.svc.cluster.local'];

async function world(mode: 'Enforce' | 'Audit', grants = false) {
  const key = await makeVerifierKey();
  const policy = makePolicy('ci-runners', key, { mode });
  const w = await buildWorld({
    policies: [policy],
    nodes: [
      { name: 'good', labels: { pool: 'ci' }, token: await signAttestation(key, 'good', NOW) },
      {
        name: 'bad',
        labels: { pool: 'ci' },
        token: await signAttestation(key, 'bad', NOW, { diskEncryption: false, patchAgeDays: 1 }),
      },
    ],
    grants: grants ? [makeGrant('runner', 'ci', 'runner', 'ci-runners')] : [],
  });
  return { ...w, policy };
}

const pod = (name: string, node: string): V1Pod => ({
  metadata: { name, namespace: 'ci', uid: `uid-${name}` },
  spec: { nodeName: node, serviceAccountName: 'runner', containers: [] },
});
const ref = (p: V1Pod) => ({
  name: p.metadata?.name ?? '',
  namespace: 'ci',
  uid: p.metadata?.uid,
  serviceAccount: 'runner',
});

describe('PolicyReport results', () => {
  it('fail with the webhook denial reasons, rule by rule, for an ungranted pod on a bad node', async () => {
    const w = await world('Enforce');
    const p = pod('r1', 'bad');
    const results = podResults(
      ref(p),
      podDecisions(p, 'ci', { 'kubernetes.io/metadata.name': 'ci' }, w.caches, NOW, AUDIENCES),
    );
    expect(results.map((r) => [r.rule, r.result])).toEqual([
      ['workload-grant', 'fail'],
      ['token-limits', 'pass'],
      ['legacy-token-secrets', 'pass'],
      ['node-trust', 'fail'],
    ]);
    // The same sentences the webhook denies the same pod with.
    const verdict = admit(
      decodeAdmissionReview(JSON.stringify(podReview(p as Record<string, unknown>, 'ci'))),
      w.caches,
      NOW,
    ) as Verdict;
    expect(verdict.allowed).toBe(false);
    for (const r of results.filter((x) => x.result === 'fail')) {
      expect(verdict.message).toContain(r.message);
    }
    expect(results[0]).toMatchObject({
      source: 'trustgate',
      policy: 'ci-runners',
      severity: 'high',
      scored: true,
      resources: [{ apiVersion: 'v1', kind: 'Pod', name: 'r1', namespace: 'ci', uid: 'uid-r1' }],
      properties: { enforcement: 'Enforce', reasons: 'GrantMissing', serviceAccount: 'runner' },
    });
    expect(results[3]?.properties.reasons).toContain('PostureRequirementFailed');
  });

  it('reports Audit failures as fail (Kyverno convention) and passes once granted', async () => {
    const audit = await world('Audit');
    const p = pod('r1', 'good');
    const labels = { 'kubernetes.io/metadata.name': 'ci' };
    const before = podResults(ref(p), podDecisions(p, 'ci', labels, audit.caches, NOW, AUDIENCES));
    expect(before.find((r) => r.rule === 'workload-grant')).toMatchObject({
      result: 'fail',
      properties: { enforcement: 'Audit' },
    });
    const granted = await world('Audit', true);
    const after = podResults(ref(p), podDecisions(p, 'ci', labels, granted.caches, NOW, AUDIENCES));
    expect(after.every((r) => r.result === 'pass')).toBe(true);
    expect(after.find((r) => r.rule === 'workload-grant')?.properties.grant).toBe('runner');
  });

  it('builds a report owned by the policy, with a summary, problems first', async () => {
    const w = await world('Enforce', true);
    const labels = { 'kubernetes.io/metadata.name': 'ci' };
    const drafts = [pod('a', 'good'), pod('b', 'bad')].flatMap((p) =>
      podResults(ref(p), podDecisions(p, 'ci', labels, w.caches, NOW, AUDIENCES)),
    );
    const report = policyReport({ namespace: 'ci', policy: w.policy, results: drafts, now: NOW });
    expect(report.metadata).toMatchObject({
      name: 'trustgate-ci-runners',
      namespace: 'ci',
      labels: { 'app.kubernetes.io/managed-by': 'trustgate', 'trustgate.dev/policy': 'ci-runners' },
      ownerReferences: [{ kind: 'EndpointTrustPolicy', name: 'ci-runners', uid: 'uid-ci-runners' }],
    });
    expect(report.summary).toEqual({ pass: 7, fail: 1, warn: 0, error: 0, skip: 0 });
    expect(report.results[0]).toMatchObject({ result: 'fail', rule: 'node-trust' });
    expect(report.results[0]?.timestamp).toEqual({ seconds: NOW / 1000, nanos: 0 });
  });

  it('keeps timestamps of unchanged results, so the fingerprint ignores time', async () => {
    const w = await world('Enforce');
    const labels = { 'kubernetes.io/metadata.name': 'ci' };
    const p = pod('a', 'good');
    const drafts = podResults(ref(p), podDecisions(p, 'ci', labels, w.caches, NOW, AUDIENCES));
    const first = policyReport({ namespace: 'ci', policy: w.policy, results: drafts, now: NOW });
    const later = NOW + 3_600_000;
    const again = policyReport({
      namespace: 'ci',
      policy: w.policy,
      results: drafts,
      previous: first,
      now: later,
    });
    expect(again).toEqual(first);
    const fresh = policyReport({ namespace: 'ci', policy: w.policy, results: drafts, now: later });
    expect(fresh).not.toEqual(first);
    expect(reportFingerprint(fresh)).toBe(reportFingerprint(first));
    // A changed outcome changes the fingerprint and gets a new timestamp.
    const granted = await world('Enforce', true);
    const changed = policyReport({
      namespace: 'ci',
      policy: w.policy,
      results: podResults(ref(p), podDecisions(p, 'ci', labels, granted.caches, NOW, AUDIENCES)),
      previous: first,
      now: later,
    });
    expect(reportFingerprint(changed)).not.toBe(reportFingerprint(first));
    const grantResult = changed.results.find((r) => r.rule === 'workload-grant');
    expect(grantResult?.timestamp.seconds).toBe(later / 1000);
    const tokenResult = changed.results.find((r) => r.rule === 'token-limits');
    expect(tokenResult?.timestamp.seconds).toBe(NOW / 1000);
  });

  it('caps the results, keeping failures, while the summary counts everything', async () => {
    const w = await world('Enforce');
    const labels = { 'kubernetes.io/metadata.name': 'ci' };
    const drafts = Array.from({ length: 400 }, (_, i) => pod(`p${i}`, 'good')).flatMap((p) =>
      podResults(ref(p), podDecisions(p, 'ci', labels, w.caches, NOW, AUDIENCES)),
    );
    const report = policyReport({ namespace: 'ci', policy: w.policy, results: drafts, now: NOW });
    expect(report.results).toHaveLength(MAX_RESULTS);
    expect(report.summary).toEqual({ pass: 1200, fail: 400, warn: 0, error: 0, skip: 0 });
    expect(report.results.slice(0, 400).every((r) => r.result === 'fail')).toBe(true);
    expect(report.metadata.annotations).toEqual({ 'trustgate.dev/results-omitted': '600' });
  });

  it('counts passes past a full report without building them, to the same report', async () => {
    const w = await world('Enforce', true);
    const labels = { 'kubernetes.io/metadata.name': 'ci' };
    const pods = Array.from({ length: 700 }, (_, i) =>
      pod(`p${String(i).padStart(4, '0')}`, 'good'),
    );
    const built = new ResultSet();
    const lazy = new ResultSet();
    let skipped = 0;
    for (const p of pods) {
      const decisions = podDecisions(p, 'ci', labels, w.caches, NOW, AUDIENCES);
      for (const r of podResults(ref(p), decisions)) built.add(r);
      if (lazy.countPasses(p.metadata?.name ?? '', ruleCount(w.policy, true))) skipped++;
      else for (const r of podResults(ref(p), decisions)) lazy.add(r);
    }
    expect(skipped).toBeGreaterThan(0);
    const report = (results: ResultSet) =>
      policyReport({ namespace: 'ci', policy: w.policy, results, now: NOW });
    expect(report(lazy)).toEqual(report(built));
  });
});

describe('ClusterPolicyReport', () => {
  it('says per policy whether the node is trusted, with the reasons, owned by the node', async () => {
    const w = await world('Audit');
    const report = nodeReport({
      node: { name: 'bad', uid: 'node-uid' },
      results: nodeResults({ name: 'bad', uid: 'node-uid' }, [
        { policy: w.policy, decision: w.trust.decision('bad', 'ci-runners', NOW) },
      ]),
      now: NOW,
    });
    expect(report).toMatchObject({
      kind: 'ClusterPolicyReport',
      metadata: {
        name: 'trustgate-node-bad',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'bad', uid: 'node-uid' }],
      },
      scope: { kind: 'Node', name: 'bad' },
      summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 },
    });
    expect(report.results[0]?.message).toBe(
      'node bad: posture diskEncryption is false; policy ci-runners requires Equals "true"',
    );
    expect(report.results[0]?.properties).toEqual({
      enforcement: 'Audit',
      reasons: 'PostureRequirementFailed',
    });
  });
});
