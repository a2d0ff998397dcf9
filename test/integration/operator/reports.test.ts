// PolicyReports on a cluster (sandbox, or real kube-apiserver): an Audit policy over a
// namespace with a running ungranted pod yields a failing report entry within seconds,
// which turns to pass once a grant is added; an untrusted node's ClusterPolicyReport says
// why; `kubectl get polr -A` prints them; a node's report goes with the node.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { resourcePath } from '../../../operator/kube/rest.ts';
import type { PolicyReportObject } from '../../../operator/reports/types.ts';
import {
  attest,
  createGrant,
  createNode,
  createPod,
  createPolicy,
  createServiceAccount,
  type Env,
  policyObject,
  waitFor,
  withOperator,
} from './harness.ts';

const WG = { group: 'wgpolicyk8s.io', version: 'v1alpha2' };
const started = withOperator();
let env: Env;
beforeEach(() => {
  ({ env } = started());
});

async function report(
  plural: 'policyreports' | 'clusterpolicyreports',
  name: string,
  namespace?: string,
): Promise<PolicyReportObject | undefined> {
  return env.client.getIfExists<PolicyReportObject>(
    resourcePath({ ...WG, plural, name, namespace }),
  );
}

describe('policy reports', () => {
  it('report an ungranted running pod under an Audit policy as fail, then pass once granted', async () => {
    const policy = `p-${env.id}-audit`;
    const node = `${policy}-n1`;
    await createPolicy(env, policyObject(env, policy, { mode: 'Audit' }));
    await createNode(env, node, policy);
    await attest(env, node);
    await createServiceAccount(env, 'runner-r');
    await createPod(env, 'runner-r-1', node, 'runner-r');
    const started = Date.now();

    const grantResult = (r: PolicyReportObject | undefined) =>
      r?.results?.find((x) => x.rule === 'workload-grant' && x.resources[0]?.name === 'runner-r-1');
    const failing = await waitFor(async () => {
      const r = await report('policyreports', `trustgate-${policy}`, env.ns);
      return grantResult(r)?.result === 'fail' ? r : undefined;
    }, 'a failing report entry');
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(10);
    expect(grantResult(failing)).toMatchObject({
      policy,
      source: 'trustgate',
      severity: 'high',
      message: `pod ${env.ns}/runner-r-1 (service account runner-r): no WorkloadGrant names the service account; policy ${policy} requires an active grant`,
      properties: { enforcement: 'Audit', reasons: 'GrantMissing' },
      resources: [{ kind: 'Pod', name: 'runner-r-1', namespace: env.ns }],
    });
    expect(failing.summary.fail).toBe(1);
    expect(failing.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'EndpointTrustPolicy',
      name: policy,
    });
    const nodeTrust = failing.results.find((x) => x.rule === 'node-trust');
    expect(nodeTrust?.result).toBe('pass');

    await createGrant(env, 'runner-r', 'runner-r', policy);
    const passing = await waitFor(async () => {
      const r = await report('policyreports', `trustgate-${policy}`, env.ns);
      return grantResult(r)?.result === 'pass' ? r : undefined;
    }, 'the entry to pass');
    expect(passing.summary).toMatchObject({ fail: 0, pass: passing.results.length });

    const listed = await env.cluster.kubectl(['get', 'polr', '-A']);
    expect(listed.code).toBe(0);
    const row = listed.stdout.split('\n').find((l) => l.includes(`trustgate-${policy}`));
    expect(row?.split(/\s+/)).toEqual([
      env.ns,
      `trustgate-${policy}`,
      String(passing.summary.pass),
      '0',
      '0',
      '0',
      '0',
      expect.any(String),
    ]);
    expect(listed.stdout.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAMESPACE',
      'NAME',
      'PASS',
      'FAIL',
      'WARN',
      'ERROR',
      'SKIP',
      'AGE',
    ]);
  });

  it('show an untrusted node with its reason in a ClusterPolicyReport owned by the node', async () => {
    const policy = `p-${env.id}-nodes`;
    const node = `${policy}-n1`;
    await createPolicy(env, policyObject(env, policy, { mode: 'Audit' }));
    const created = await createNode(env, node, policy);
    await attest(env, node, { diskEncryption: false });
    const r = await waitFor(
      async () =>
        (await report('clusterpolicyreports', `trustgate-node-${node}`))?.summary.fail === 1
          ? report('clusterpolicyreports', `trustgate-node-${node}`)
          : undefined,
      'an untrusted node in its report',
    );
    expect(r?.scope).toMatchObject({ kind: 'Node', name: node });
    expect(r?.results).toEqual([
      expect.objectContaining({
        policy,
        rule: 'node-trust',
        result: 'fail',
        message: `node ${node}: posture diskEncryption is false; policy ${policy} requires Equals "true"`,
        properties: { enforcement: 'Audit', reasons: 'PostureRequirementFailed' },
      }),
    ]);
    expect(r?.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'Node',
        name: node,
        uid: (created as { metadata: { uid: string } }).metadata.uid,
      }),
    ]);
    const listed = await env.cluster.kubectl(['get', 'cpolr', `trustgate-node-${node}`]);
    expect(listed.stdout).toMatch(new RegExp(`trustgate-node-${node}\\s+0\\s+1\\s+0\\s+0\\s+0`));

    await attest(env, node);
    await waitFor(
      async () =>
        (await report('clusterpolicyreports', `trustgate-node-${node}`))?.summary.pass === 1,
      'the node trusted in its report',
    );
    // Owned by the node: kube's garbage collector removes it with the node.
    await env.client.delete(resourcePath({ version: 'v1', plural: 'nodes', name: node }));
    await waitFor(
      async () => (await report('clusterpolicyreports', `trustgate-node-${node}`)) === undefined,
      'the report deleted with its node',
      30_000,
    );
  });
});
