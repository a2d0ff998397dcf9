// The webhook's reach follows the policies: which webhooks exist, and that the CEL the
// pod condition is built from says exactly what the label selector says.
import { describe, expect, it } from '@jest/globals';
import { parse } from '@marcbachmann/cel-js';
import fc from 'fast-check';
import type { EndpointTrustPolicy } from '../../../operator/api/types.generated.ts';
import { selectorMatches } from '../../../operator/trust/selectors.ts';
import { MAX_WORKLOAD_WEBHOOKS, selectorCel, workloadReach } from '../../../webhook/reach.ts';

type Selector = Parameters<typeof selectorCel>[0];

function policy(
  name: string,
  o: { namespaces?: Selector; pods?: Selector; mode?: 'Enforce' | 'Audit' } = {},
): EndpointTrustPolicy {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name },
    spec: {
      nodeSelector: { matchLabels: { pool: name } },
      workloadSelector: {
        ...(o.namespaces ? { namespaceSelector: o.namespaces } : {}),
        ...(o.pods ? { podSelector: o.pods } : {}),
      },
      attestation: { verifiers: [], maxAge: '5m' },
      enforcement: { mode: o.mode ?? 'Enforce' },
    } as unknown as EndpointTrustPolicy['spec'],
  };
}

const ci = { matchLabels: { team: 'ci' } };

/** What the API server does with the condition: evaluate it over the request. */
function sends(condition: string | undefined, request: object, object: object): boolean {
  if (!condition) return true;
  return parse(condition)({ request, object, oldObject: null }) === true;
}

const podCreate = { resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE' };

describe('workloadReach', () => {
  it('has no workloads webhook when there is no policy', () => {
    expect(workloadReach([])).toEqual([]);
  });

  it('makes one webhook per distinct namespaceSelector, named after its first policy', () => {
    const reach = workloadReach([
      policy('b-runners', { namespaces: { matchLabels: { team: 'ci' } } }),
      policy('a-runners', { namespaces: { matchLabels: { team: 'ci' } } }),
      policy('prod', { namespaces: { matchLabels: { env: 'prod' } } }),
    ]);
    expect(reach.map((r) => [r.name, r.policies])).toEqual([
      ['a-runners.workloads.trustgate.dev', ['a-runners', 'b-runners']],
      ['prod.workloads.trustgate.dev', ['prod']],
    ]);
    expect(reach[1]?.namespaceSelector).toEqual({ matchLabels: { env: 'prod' } });
  });

  it('treats selectors that differ only in order as one', () => {
    const reach = workloadReach([
      policy('x', {
        namespaces: { matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] },
      }),
      policy('y', {
        namespaces: { matchExpressions: [{ key: 'a', operator: 'In', values: ['2', '1'] }] },
      }),
    ]);
    expect(reach).toHaveLength(1);
  });

  it('fails open for a group of Audit policies only, closed as configured otherwise', () => {
    const reach = workloadReach(
      [
        policy('audit', { namespaces: { matchLabels: { a: '1' } }, mode: 'Audit' }),
        policy('mixed-audit', { namespaces: ci, mode: 'Audit' }),
        policy('mixed-enforce', { namespaces: ci }),
      ],
      'Fail',
    );
    expect(Object.fromEntries(reach.map((r) => [r.name, r.failurePolicy]))).toEqual({
      'audit.workloads.trustgate.dev': 'Ignore',
      'mixed-audit.workloads.trustgate.dev': 'Fail',
    });
  });

  it('sends every pod of a group when a policy there selects all pods', () => {
    const [reach] = workloadReach([
      policy('runners', { namespaces: ci, pods: { matchLabels: { app: 'runner' } } }),
      policy('all', { namespaces: ci }),
    ]);
    expect(reach?.matchCondition).toBeUndefined();
  });

  it('sends pod creations whose labels a podSelector matches, and every binding and token', () => {
    const [reach] = workloadReach([
      policy('runners', { namespaces: ci, pods: { matchLabels: { app: 'runner' } } }),
      policy('builders', {
        namespaces: ci,
        pods: { matchExpressions: [{ key: 'role', operator: 'In', values: ['build'] }] },
      }),
    ]);
    const condition = reach?.matchCondition;
    expect(condition).toBeDefined();
    const pod = (labels?: Record<string, string>) => ({
      metadata: { name: 'p', ...(labels ? { labels } : {}) },
    });
    expect(sends(condition, podCreate, pod({ app: 'runner' }))).toBe(true);
    expect(sends(condition, podCreate, pod({ role: 'build' }))).toBe(true);
    expect(sends(condition, podCreate, pod({ app: 'web' }))).toBe(false);
    expect(sends(condition, podCreate, pod())).toBe(false);
    const ephemeral = { ...podCreate, operation: 'UPDATE', subResource: 'ephemeralcontainers' };
    expect(sends(condition, ephemeral, pod({ app: 'web' }))).toBe(false);
    expect(sends(condition, ephemeral, pod({ app: 'runner' }))).toBe(true);
    const binding = { ...podCreate, subResource: 'binding' };
    expect(sends(condition, binding, { metadata: { name: 'p' }, target: {} })).toBe(true);
    const token = {
      resource: { group: '', version: 'v1', resource: 'serviceaccounts' },
      subResource: 'token',
    };
    expect(sends(condition, token, { spec: {} })).toBe(true);
  });

  it('falls back to one webhook over all namespaces past the limit', () => {
    const many = Array.from({ length: MAX_WORKLOAD_WEBHOOKS + 1 }, (_, i) =>
      policy(`p${i}`, { namespaces: { matchLabels: { n: String(i) } } }),
    );
    const reach = workloadReach(many);
    expect(reach).toHaveLength(1);
    expect(reach[0]?.namespaceSelector).toEqual({});
    expect(reach[0]?.policies).toHaveLength(MAX_WORKLOAD_WEBHOOKS + 1);
  });
});

describe('selectorCel', () => {
  const key = fc.constantFrom('app', 'team', 'a.b/c', 'x"y');
  const value = fc.constantFrom('1', '2', 'runner', "it's");
  const requirement = fc.record({
    key,
    operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
    values: fc.array(value, { maxLength: 3 }),
  });
  const selector = fc.record(
    {
      matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
      matchExpressions: fc.array(requirement, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  );

  it('matches exactly the labels the selector matches', () => {
    fc.assert(
      fc.property(selector, fc.dictionary(key, value, { maxKeys: 3 }), (s, labels) => {
        const cel = parse(selectorCel(s as Selector))({ labels });
        expect(cel).toBe(selectorMatches(s as Selector, labels));
      }),
      { numRuns: 500 },
    );
  });
});
