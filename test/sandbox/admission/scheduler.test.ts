// The scheduler's pure placement: nodeSelector, unschedulable, taints vs tolerations,
// PreferNoSchedule as a preference.
import { describe, expect, it } from '@jest/globals';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { placePod, tolerates } from '../../../hack/sandbox/scheduler.ts';

const node = (
  name: string,
  spec: Record<string, unknown> = {},
  labels: Record<string, string> = {},
): V1Node => ({ metadata: { name, labels }, spec });
const pod = (spec: Record<string, unknown> = {}): V1Pod => ({
  metadata: { name: 'p' },
  spec: { containers: [], ...spec },
});
const untrusted = { key: 'trustgate.dev/untrusted', value: 'prod', effect: 'NoSchedule' };

describe('tolerates', () => {
  it('follows kube: Exists ignores the value, empty key with Exists matches all, effect must match when set', () => {
    expect(tolerates({ key: 'trustgate.dev/untrusted', operator: 'Exists' }, untrusted)).toBe(true);
    expect(tolerates({ operator: 'Exists' }, untrusted)).toBe(true);
    expect(tolerates({ key: 'trustgate.dev/untrusted', value: 'prod' }, untrusted)).toBe(true);
    expect(tolerates({ key: 'trustgate.dev/untrusted', value: 'dev' }, untrusted)).toBe(false);
    expect(
      tolerates(
        { key: 'trustgate.dev/untrusted', operator: 'Exists', effect: 'NoExecute' },
        untrusted,
      ),
    ).toBe(false);
  });
});

describe('placePod', () => {
  const nodes = [
    node('a', { taints: [untrusted] }),
    node('b', { unschedulable: true }),
    node('c', {}, { pool: 'x' }),
  ];

  it('avoids tainted and unschedulable nodes', () => {
    expect(placePod(pod(), nodes, new Map())).toEqual({ node: 'c' });
  });

  it('honours nodeSelector and spreads by load among nodes that fit', () => {
    const tolerant = pod({ tolerations: [{ key: 'trustgate.dev/untrusted', operator: 'Exists' }] });
    expect(placePod(tolerant, nodes, new Map([['c', 2]]))).toEqual({ node: 'a' });
    expect(
      placePod(
        { ...tolerant, spec: { ...tolerant.spec, containers: [], nodeSelector: { pool: 'x' } } },
        nodes,
        new Map([['c', 2]]),
      ),
    ).toEqual({ node: 'c' });
  });

  it('prefers nodes without untolerated PreferNoSchedule taints over emptier ones', () => {
    const preferNot = { key: 'trustgate.dev/untrusted', value: 'prod', effect: 'PreferNoSchedule' };
    const pool = [node('soft', { taints: [preferNot] }), node('busy')];
    expect(placePod(pod(), pool, new Map([['busy', 5]]))).toEqual({ node: 'busy' });
    const tolerant = pod({ tolerations: [{ key: 'trustgate.dev/untrusted', operator: 'Exists' }] });
    expect(placePod(tolerant, pool, new Map([['busy', 5]]))).toEqual({ node: 'soft' });
    // A preference, not a filter: the tainted node is used when nothing else fits.
    expect(placePod(pod(), pool.slice(0, 1), new Map())).toEqual({ node: 'soft' });
  });

  it('explains as kube does when nothing fits', () => {
    expect(placePod(pod(), nodes.slice(0, 2), new Map())).toEqual({
      unschedulable:
        '0/2 nodes are available: 1 node(s) had untolerated taint {trustgate.dev/untrusted: prod}, 1 node(s) were unschedulable.',
    });
    expect(placePod(pod(), [], new Map())).toEqual({ unschedulable: '0/0 nodes are available.' });
  });
});
