import { describe, expect, it } from '@jest/globals';
import {
  type DriftRecord,
  planNode,
  REVOCATION_ANNOTATION,
  withTaint,
} from '../../../operator/controllers/drift-plan.ts';
import { ENFORCEMENT_DEFAULTS } from '../../../operator/controllers/settings.ts';
import { trimPod } from '../../../operator/kube/trim.ts';
import type { NodeDecision } from '../../../operator/trust/index.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const decision = (
  trusted: boolean,
  code = 'PostureRequirementFailed',
  extra: Partial<NodeDecision> = {},
) =>
  ({
    node: 'n1',
    policy: 'p',
    trusted,
    reasons: trusted ? [] : [{ code, message: `node n1: ${code}` }],
    evaluatedAt: NOW,
    validUntil: NOW + 60_000,
    ...extra,
  }) as NodeDecision;
const settings = (o: Partial<typeof ENFORCEMENT_DEFAULTS> = {}) => ({
  ...ENFORCEMENT_DEFAULTS,
  ...o,
});
const node = { name: 'n1', creationTimestamp: iso(NOW - 86_400_000) };
const soft = { key: 'trustgate.dev/untrusted', effect: 'PreferNoSchedule' };

describe('planNode', () => {
  it('reads the CRD defaults: no grace, ForceDelete, taint, delete legacy secrets', () => {
    expect(ENFORCEMENT_DEFAULTS).toEqual({
      mode: 'Enforce',
      gracePeriodMs: 0,
      bootstrapGracePeriodMs: 600_000,
      taint: true,
      podAction: 'ForceDelete',
      deleteLegacyTokenSecrets: true,
    });
  });

  it('revokes at once without grace, records the intent and taints with the policy name', () => {
    const plan = planNode({
      node,
      policies: [{ policy: 'p', decision: decision(false), settings: settings() }],
      record: {},
      now: NOW,
    });
    expect(plan.revoke).toEqual(['p']);
    expect(plan.record.p).toMatchObject({
      phase: 'revoking',
      since: iso(NOW),
      reasons: ['PostureRequirementFailed'],
    });
    expect(plan.taint).toEqual({
      key: 'trustgate.dev/untrusted',
      value: 'p',
      effect: 'NoSchedule',
    });
    expect(plan.labels).toEqual({ 'trust.trustgate.dev/p': 'false' });
  });

  it('waits out the grace period from the moment trust was lost, then revokes', () => {
    const input = {
      node,
      policies: [
        { policy: 'p', decision: decision(false), settings: settings({ gracePeriodMs: 30_000 }) },
      ],
    };
    const first = planNode({ ...input, record: {}, now: NOW });
    expect(first.revoke).toEqual([]);
    expect(first.started).toEqual(['p']);
    // The binding webhook already refuses the node: the scheduler is told to look elsewhere.
    expect(first.taint).toEqual({ ...soft, value: 'p' });
    expect(first.requeueAt).toBe(NOW + 30_000);
    const later = planNode({ ...input, record: first.record, now: NOW + 30_000 });
    expect(later.revoke).toEqual(['p']);
    expect(later.record.p?.since).toBe(iso(NOW));
  });

  it('dates staleness at the freshness deadline, not at when it was noticed', () => {
    const stale = decision(false, 'Stale', {
      attestation: { freshUntil: NOW - 2000 } as NodeDecision['attestation'],
    });
    const plan = planNode({
      node,
      policies: [{ policy: 'p', decision: stale, settings: settings() }],
      record: {},
      now: NOW,
    });
    expect(plan.record.p?.since).toBe(iso(NOW - 2000));
  });

  it('gives a new, never-attested node its bootstrap grace from creation', () => {
    const young = { name: 'n1', creationTimestamp: iso(NOW - 60_000) };
    const plan = planNode({
      node: young,
      policies: [{ policy: 'p', decision: decision(false, 'NotAttested'), settings: settings() }],
      record: {},
      now: NOW,
    });
    expect(plan.revoke).toEqual([]);
    expect(plan.record).toEqual({});
    expect(plan.requeueAt).toBe(NOW - 60_000 + 600_000);
    expect(plan.taint).toEqual({ ...soft, value: 'p' });
  });

  it('only reports in Audit mode: no taint, no revocation, reported once', () => {
    const input = {
      node,
      policies: [{ policy: 'p', decision: decision(false), settings: settings({ mode: 'Audit' }) }],
    };
    const first = planNode({ ...input, record: {}, now: NOW });
    expect(first).toMatchObject({ revoke: [], audit: ['p'], taint: undefined });
    const again = planNode({ ...input, record: first.record, now: NOW + 1000 });
    expect(again.audit).toEqual([]);
  });

  it('keeps re-running a finished revocation while untrusted, and clears everything on recovery', () => {
    const record: DriftRecord = {
      p: { since: iso(NOW - 5000), phase: 'revoked', reasons: ['Stale'] },
    };
    const still = planNode({
      node,
      policies: [{ policy: 'p', decision: decision(false), settings: settings() }],
      record,
      now: NOW,
    });
    expect(still.revoke).toEqual(['p']);
    expect(still.record.p?.phase).toBe('revoked');
    const healed = planNode({
      node,
      policies: [{ policy: 'p', decision: decision(true), settings: settings() }],
      record,
      now: NOW,
    });
    expect(healed).toMatchObject({
      recovered: ['p'],
      record: {},
      taint: undefined,
      labels: { 'trust.trustgate.dev/p': 'true' },
    });
    expect(healed.requeueAt).toBe(NOW + 60_000);
  });

  it('with taint false, keeps a PreferNoSchedule taint while untrusted and lifts it on recovery', () => {
    const input = (trusted: boolean) => ({
      node,
      policies: [
        { policy: 'p', decision: decision(trusted), settings: settings({ taint: false }) },
      ],
    });
    const drifted = planNode({ ...input(false), record: {}, now: NOW });
    expect(drifted.revoke).toEqual(['p']);
    expect(drifted.taint).toEqual({ ...soft, value: 'p' });
    const revoked = planNode({
      ...input(false),
      record: { p: { ...(drifted.record.p as DriftRecord[string]), phase: 'revoked' } },
      now: NOW + 1000,
    });
    expect(revoked.taint).toEqual({ ...soft, value: 'p' });
    const healed = planNode({ ...input(true), record: revoked.record, now: NOW + 2000 });
    expect(healed).toMatchObject({ recovered: ['p'], taint: undefined });
  });

  it('picks one taint over all policies: NoSchedule first, PreferNoSchedule from Enforce only', () => {
    const plan = (policies: [string, boolean, Partial<typeof ENFORCEMENT_DEFAULTS>][]) =>
      planNode({
        node,
        policies: policies.map(([policy, trusted, o]) => ({
          policy,
          decision: decision(trusted),
          settings: settings(o),
        })),
        record: {},
        now: NOW,
      }).taint;
    expect(
      plan([
        ['b', false, {}],
        ['a', false, { taint: false }],
      ]),
    ).toMatchObject({
      value: 'b',
      effect: 'NoSchedule',
    });
    expect(
      plan([
        ['b', false, { taint: false }],
        ['a', false, { taint: false }],
      ]),
    ).toEqual({
      ...soft,
      value: 'a',
    });
    expect(
      plan([
        ['a', false, { mode: 'Audit' }],
        ['b', true, {}],
      ]),
    ).toBeUndefined();
    expect(
      plan([
        ['a', false, { mode: 'Audit' }],
        ['c', false, { taint: false }],
      ]),
    ).toEqual({
      ...soft,
      value: 'c',
    });
  });

  it('removes trust labels of policies that no longer govern the node', () => {
    const plan = planNode({
      node: { ...node, labels: { 'trust.trustgate.dev/old': 'true', other: 'x' } },
      policies: [],
      record: {},
      now: NOW,
    });
    expect(plan.labels).toEqual({ 'trust.trustgate.dev/old': null });
    expect(REVOCATION_ANNOTATION).toBe('trustgate.dev/revocation');
  });
});

describe('withTaint', () => {
  const ours = { key: 'trustgate.dev/untrusted', value: 'p', effect: 'NoSchedule' };
  it('adds, keeps, replaces and removes only our taint', () => {
    const other = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
    expect(withTaint([other], ours, NOW)).toMatchObject({ changed: true, taints: [other, ours] });
    expect(withTaint([other, ours], ours, NOW).changed).toBe(false);
    expect(withTaint([ours], { ...ours, value: 'q' }, NOW).taints).toMatchObject([{ value: 'q' }]);
    expect(withTaint([other, ours], undefined, NOW)).toEqual({ changed: true, taints: [other] });
  });

  it('owns both effects of its key: switches between them, leaves other effects alone', () => {
    const preferred = { ...ours, effect: 'PreferNoSchedule' };
    const foreign = { ...ours, effect: 'NoExecute' };
    expect(withTaint([preferred], preferred, NOW).changed).toBe(false);
    expect(withTaint([foreign, preferred], ours, NOW)).toMatchObject({
      changed: true,
      taints: [foreign, ours],
    });
    expect(withTaint([ours], preferred, NOW).taints).toMatchObject([preferred]);
    expect(withTaint([ours, preferred], ours, NOW)).toMatchObject({
      changed: true,
      taints: [ours],
    });
    expect(withTaint([foreign, preferred], undefined, NOW)).toEqual({
      changed: true,
      taints: [foreign],
    });
  });
});

describe('trimPod', () => {
  it('keeps what trustgate reads and shares identical shapes between pods', () => {
    const raw = (name: string) => ({
      metadata: {
        name,
        namespace: 'ci',
        uid: `u-${name}`,
        resourceVersion: '7',
        labels: { app: 'runner' },
        annotations: { big: 'x'.repeat(1000) },
        managedFields: [{}],
      },
      spec: {
        nodeName: 'n1',
        serviceAccountName: 'builder',
        containers: [{ name: 'c', image: 'i', env: [{ name: 'A', value: 'B' }] }],
        volumes: [
          {
            name: 'tok',
            projected: {
              sources: [
                { serviceAccountToken: { audience: 'vault', expirationSeconds: 600, path: 't' } },
                { configMap: { name: 'ca' } },
              ],
            },
          },
          { name: 'legacy', secret: { secretName: 'builder-token-abc' } },
          { name: 'scratch', emptyDir: {} },
        ],
      },
      status: { phase: 'Running', podIP: '10.0.0.1' },
    });
    const a = trimPod(raw('a'));
    const b = trimPod(raw('b'));
    expect(a).toEqual({
      metadata: {
        name: 'a',
        namespace: 'ci',
        uid: 'u-a',
        resourceVersion: '7',
        labels: { app: 'runner' },
      },
      spec: {
        nodeName: 'n1',
        serviceAccountName: 'builder',
        volumes: [
          {
            name: 'tok',
            projected: {
              sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 600 } }],
            },
          },
          { name: 'legacy', secret: { secretName: 'builder-token-abc' } },
        ],
      },
      status: { phase: 'Running' },
    });
    expect(b.metadata.labels).toBe(a.metadata.labels);
    expect(b.spec.volumes).toBe(a.spec.volumes);
    expect(Object.isFrozen(a.metadata.labels)).toBe(true);
  });
});
