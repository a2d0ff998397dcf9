import { describe, expect, test } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { EndpointTrustPolicy, WorkloadGrant } from '../../../operator/api/types.generated.ts';
import {
  DEFAULT_API_SERVER_AUDIENCE,
  evaluateWorkload,
  governingPolicies,
  REASON,
  selectorMatches,
} from '../../../operator/trust/index.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const CI_NS = { 'kubernetes.io/metadata.name': 'ci' };

function policy(
  extra: Partial<EndpointTrustPolicy['spec']> = {},
  name = 'ci-runners',
): EndpointTrustPolicy {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name },
    spec: {
      workloadSelector: { namespaceSelector: { matchLabels: CI_NS } },
      attestation: { verifiers: [{ name: 'v', issuer: 'i', jwks: { keys: [{}] } }] },
      ...extra,
    },
  };
}

function grant(spec: Partial<WorkloadGrant['spec']> = {}, name = 'runner'): WorkloadGrant {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'WorkloadGrant',
    metadata: { name, namespace: 'ci' },
    spec: { serviceAccountName: 'runner', policyRef: { name: 'ci-runners' }, ...spec },
  };
}

function pod(
  volumes: NonNullable<V1Pod['spec']>['volumes'] = [],
  labels: Record<string, string> = {},
): V1Pod {
  return {
    metadata: { name: 'job-1', namespace: 'ci', labels },
    spec: { serviceAccountName: 'runner', containers: [{ name: 'c', image: 'x' }], volumes },
  };
}

const token = (audience?: string, expirationSeconds?: number, name = 'tok') => ({
  name,
  projected: {
    sources: [
      {
        serviceAccountToken: {
          path: 'token',
          ...(audience ? { audience } : {}),
          ...(expirationSeconds ? { expirationSeconds } : {}),
        },
      },
    ],
  },
});
const kubeApiAccess = {
  name: 'kube-api-access-abcde',
  projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] },
};

const codes = (d: { reasons: { code: string }[] }) => d.reasons.map((r) => r.code);

describe('governance', () => {
  test('pods outside the workload selector are not governed and always allowed', () => {
    const d = evaluateWorkload({
      pod: pod(),
      namespaceLabels: { 'kubernetes.io/metadata.name': 'web' },
      policy: policy(),
      grants: [],
      now: NOW,
    });
    expect(d).toMatchObject({ governed: false, allowed: true, reasons: [] });
  });
  test('a live exemption lifts the policy until it expires; an expired one does not', () => {
    const exempt = policy({
      exemptions: [
        {
          name: 'incident-42',
          namespaces: ['ci'],
          expiresAt: '2026-11-25T13:00:00Z',
          reason: 'outage',
        },
      ],
    });
    const d = evaluateWorkload({
      pod: pod(),
      namespaceLabels: CI_NS,
      policy: exempt,
      grants: [],
      now: NOW,
    });
    expect(d).toMatchObject({
      governed: false,
      allowed: true,
      exemption: { name: 'ci-runners/incident-42' },
    });
    expect(d.validUntil).toBe(Date.parse('2026-11-25T13:00:00Z'));
    const later = evaluateWorkload({
      pod: pod(),
      namespaceLabels: CI_NS,
      policy: exempt,
      grants: [],
      now: d.validUntil,
    });
    expect(later.governed).toBe(true);
    expect(codes(later)).toEqual([REASON.GrantMissing]);
  });
  test('an exemption with namespaces and a podSelector needs both; a bad expiry never applies', () => {
    const both = policy({
      exemptions: [
        {
          name: 'both',
          namespaces: ['ci'],
          podSelector: { matchLabels: { app: 'debug' } },
          expiresAt: '2026-12-01T00:00:00Z',
          reason: 'r',
        },
        { name: 'broken', namespaces: ['ci'], expiresAt: 'tomorrow', reason: 'r' },
      ],
    });
    expect(
      evaluateWorkload({ pod: pod(), namespaceLabels: CI_NS, policy: both, grants: [], now: NOW })
        .governed,
    ).toBe(true);
    expect(
      evaluateWorkload({
        pod: pod([], { app: 'debug' }),
        namespaceLabels: CI_NS,
        policy: both,
        grants: [],
        now: NOW,
      }).governed,
    ).toBe(false);
  });
  test('governingPolicies returns only the policies that govern the pod', () => {
    const all = policy({ workloadSelector: {} }, 'everything');
    const web = policy(
      { workloadSelector: { namespaceSelector: { matchLabels: { team: 'web' } } } },
      'web',
    );
    const names = governingPolicies({
      pod: pod(),
      namespaceLabels: CI_NS,
      policies: [all, web, policy()],
      now: NOW,
    }).map((p) => p.metadata.name);
    expect(names).toEqual(['everything', 'ci-runners']);
  });
});

describe('grants', () => {
  test('a governed pod without a grant is denied with a readable reason', () => {
    const d = evaluateWorkload({
      pod: pod(),
      namespaceLabels: CI_NS,
      policy: policy(),
      grants: [],
      now: NOW,
    });
    expect(d).toMatchObject({ governed: true, allowed: false });
    expect(d.reasons).toEqual([
      {
        code: REASON.GrantMissing,
        message:
          'pod ci/job-1 (service account runner): no WorkloadGrant names the service account; policy ci-runners requires an active grant',
      },
    ]);
  });
  test('grants for another service account, policy or namespace do not count', () => {
    const others = [
      grant({ serviceAccountName: 'other' }),
      grant({ policyRef: { name: 'other' } }),
      { ...grant(), metadata: { name: 'x', namespace: 'web' } },
    ];
    expect(
      codes(
        evaluateWorkload({
          pod: pod(),
          namespaceLabels: CI_NS,
          policy: policy(),
          grants: others,
          now: NOW,
        }),
      ),
    ).toEqual([REASON.GrantMissing]);
  });
  test('an active grant allows the pod until notAfter', () => {
    const g = grant({
      validity: { notBefore: '2026-11-25T11:00:00Z', notAfter: '2026-11-25T14:00:00Z' },
    });
    const d = evaluateWorkload({
      pod: pod(),
      namespaceLabels: CI_NS,
      policy: policy(),
      grants: [g],
      now: NOW,
    });
    expect(d).toMatchObject({
      allowed: true,
      grant: 'runner',
      validUntil: Date.parse('2026-11-25T14:00:00Z'),
    });
  });
  test('not yet valid and expired grants', () => {
    const future = grant({ validity: { notBefore: '2026-11-25T13:00:00Z' } });
    const d = evaluateWorkload({
      pod: pod(),
      namespaceLabels: CI_NS,
      policy: policy(),
      grants: [future],
      now: NOW,
    });
    expect(codes(d)).toEqual([REASON.GrantNotYetValid]);
    expect(d.validUntil).toBe(Date.parse('2026-11-25T13:00:00Z'));
    const past = grant({ validity: { notAfter: '2026-11-25T12:00:00Z' } });
    expect(
      codes(
        evaluateWorkload({
          pod: pod(),
          namespaceLabels: CI_NS,
          policy: policy(),
          grants: [past],
          now: NOW,
        }),
      ),
    ).toEqual([REASON.GrantExpired]);
  });
  test('requireGrant false admits without a grant', () => {
    const open = policy({ workloadIdentity: { requireGrant: false } });
    expect(
      evaluateWorkload({ pod: pod(), namespaceLabels: CI_NS, policy: open, grants: [], now: NOW })
        .allowed,
    ).toBe(true);
  });
});

describe('projected tokens', () => {
  const decide = (volumes: Parameters<typeof pod>[0], g: WorkloadGrant | undefined, p = policy()) =>
    evaluateWorkload({
      pod: pod(volumes),
      namespaceLabels: CI_NS,
      policy: p,
      grants: g ? [g] : [],
      now: NOW,
    });

  test("the admission plugin's kube-api-access volume (3607 s, default audience) passes a plain grant", () => {
    expect(decide([kubeApiAccess], grant()).allowed).toBe(true);
  });
  test('audiences must be granted', () => {
    expect(decide([token('vault')], grant({ audiences: ['vault'] })).allowed).toBe(true);
    expect(codes(decide([token('vault')], grant()))).toEqual([REASON.AudienceNotGranted]);
    expect(codes(decide([token('s3')], grant({ audiences: ['vault'] })))).toEqual([
      REASON.AudienceNotGranted,
    ]);
  });
  test('the default audience needs a grant without audiences or one that lists the API server', () => {
    expect(codes(decide([kubeApiAccess], grant({ audiences: ['vault'] })))).toEqual([
      REASON.AudienceNotGranted,
    ]);
    expect(
      decide([kubeApiAccess], grant({ audiences: ['vault', DEFAULT_API_SERVER_AUDIENCE] })).allowed,
    ).toBe(true);
  });
  test('on a cluster with its own issuer, the default audience is judged as apiAudiences', () => {
    const issuer = 'https://oidc.example.com/clusters/c1';
    const decideWith = (g: WorkloadGrant) =>
      evaluateWorkload({
        pod: pod([kubeApiAccess]),
        namespaceLabels: CI_NS,
        policy: policy(),
        grants: [g],
        now: NOW,
        apiAudiences: [issuer],
      });
    expect(decideWith(grant({ audiences: ['vault', issuer] })).allowed).toBe(true);
    const denied = decideWith(grant({ audiences: ['vault', DEFAULT_API_SERVER_AUDIENCE] }));
    expect(codes(denied)).toEqual([REASON.AudienceNotGranted]);
    expect(denied.reasons[0]?.message).toContain(`the API server's ("${issuer}")`);
  });
  test('lifetimes are capped by both the grant and the policy', () => {
    expect(codes(decide([token(undefined, 7200)], grant()))).toEqual([
      REASON.TokenExpirationTooLong,
    ]);
    const longGrant = grant({ maxExpirationSeconds: 86400 });
    expect(codes(decide([token(undefined, 7200)], longGrant))).toEqual([
      REASON.TokenExpirationTooLong,
    ]);
    const longPolicy = policy({ workloadIdentity: { maxExpirationSeconds: 86400 } });
    expect(decide([token(undefined, 7200)], longGrant, longPolicy).allowed).toBe(true);
    expect(decide([token(undefined, 600)], grant()).allowed).toBe(true);
  });
  test('one of several active grants may cover the tokens', () => {
    const d = evaluateWorkload({
      pod: pod([token('vault')]),
      namespaceLabels: CI_NS,
      policy: policy(),
      grants: [grant({}, 'plain'), grant({ audiences: ['vault'] }, 'vault')],
      now: NOW,
    });
    expect(d).toMatchObject({ allowed: true, grant: 'vault' });
  });
});

describe('legacy token Secrets', () => {
  const legacy = new Set(['runner-token-abc']);
  const withSecret: V1Pod = {
    ...pod([{ name: 's', secret: { secretName: 'runner-token-abc' } }]),
  };
  test('volumes of legacy token Secrets are denied unless the policy allows them', () => {
    const d = evaluateWorkload({
      pod: withSecret,
      namespaceLabels: CI_NS,
      policy: policy(),
      grants: [grant()],
      now: NOW,
      isLegacyTokenSecret: legacy,
    });
    expect(codes(d)).toEqual([REASON.LegacyTokenSecret]);
    const allowing = policy({ workloadIdentity: { allowLegacyTokenSecrets: true } });
    expect(
      evaluateWorkload({
        pod: withSecret,
        namespaceLabels: CI_NS,
        policy: allowing,
        grants: [grant()],
        now: NOW,
        isLegacyTokenSecret: legacy,
      }).allowed,
    ).toBe(true);
  });
  test('env references count too, and the lookup gets the namespace', () => {
    const envPod = pod();
    (envPod.spec as NonNullable<V1Pod['spec']>).containers = [
      {
        name: 'c',
        env: [
          { name: 'T', valueFrom: { secretKeyRef: { name: 'runner-token-abc', key: 'token' } } },
        ],
      },
    ];
    const seen: string[] = [];
    const d = evaluateWorkload({
      pod: envPod,
      namespaceLabels: CI_NS,
      policy: policy(),
      grants: [grant()],
      now: NOW,
      isLegacyTokenSecret: (ns, name) => {
        seen.push(`${ns}/${name}`);
        return legacy.has(name);
      },
    });
    expect(codes(d)).toEqual([REASON.LegacyTokenSecret]);
    expect(seen).toEqual(['ci/runner-token-abc']);
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'runner', tier: 'ci' };
  test('matchLabels and every expression operator', () => {
    expect(selectorMatches(undefined, labels)).toBe(true);
    expect(selectorMatches({}, undefined)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'runner' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(false);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['ci', 'cd'] }] },
        labels,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['cd'] }] },
        labels,
      ),
    ).toBe(false);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cd'] }] },
        labels,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: 'gone', operator: 'NotIn', values: ['x'] }] },
        labels,
      ),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels),
    ).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }, labels)).toBe(
      false,
    );
    expect(selectorMatches({ matchLabels: { toString: 'x' } }, {})).toBe(false);
  });
});
