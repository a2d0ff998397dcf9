// The chart's RBAC against what the code does. `trustgate run`, started with the chart
// Deployment's own arguments behind a fault proxy, goes through a full scenario: webhook
// registration following the policies, leader election, drift with pods force-deleted and
// evicted, a legacy token Secret deleted, a service account rotated, Events. Every
// request it sent is mapped to RBAC's request attributes and compared with the rendered
// ClusterRole and Role: each must be granted, and each grant must be used or be one of the
// exceptions below, which say why the scenario cannot reach it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { type KubeObject, NAMESPACE, only, renderChart } from '../../support/chart.ts';
import { createNamespace } from '../../support/cluster.ts';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import {
  type Attributes,
  attributesOf,
  grantOf,
  grantsOf,
  type PolicyRule,
  ruleAllows,
} from '../../support/rbac-requests.ts';
import { startTrustgateProcess, type TrustgateProcess } from '../../support/trustgate-process.ts';
import { drift } from '../faults/support.ts';
import {
  attest,
  createGrant,
  createNode,
  createPod,
  createPolicy,
  createServiceAccount,
  type Env,
  getNode,
  policyObject,
  setup,
  waitFor,
} from '../operator/harness.ts';

/** Grants the scenario does not exercise, and why each is still needed. */
const UNEXERCISED: Record<string, string> = {
  'update secrets':
    'the self-managed TLS Secret is rewritten on certificate rotation, weeks apart (test/integration/webhook/rotation.test.ts)',
};
/** Reads that happen only when a write meets a 409 conflict (actions.ts): used or not. */
const ON_CONFLICT = [
  'nodes',
  ...['nodeattestations', 'endpointtrustpolicies', 'workloadgrants'].map(
    (r) => `trustgate.dev/${r}`,
  ),
];
for (const resource of ON_CONFLICT) UNEXERCISED[`get ${resource}`] = 're-read after a 409 conflict';

let env: Env;
let proxy: FaultProxy;
let trustgate: TrustgateProcess | undefined;
let clusterRole: KubeObject;
let role: KubeObject;

beforeAll(async () => {
  env = await setup();
  const { objects } = await renderChart();
  const [container] = only(objects, 'Deployment').spec.template.spec.containers;
  const args = (container.args as string[]).slice(1); // after "run"
  clusterRole = objects.find(
    (o) => o.kind === 'ClusterRole' && !o.metadata.name.match(/-(view|edit|verifier)$/),
  ) as KubeObject;
  role = objects.find((o) => o.kind === 'Role') as KubeObject;
  // The webhook configuration is owned by this ClusterRole (the code reads its uid).
  const applied = await env.cluster.kubectl(['apply', '-f', '-'], {
    input: yaml.dump(clusterRole),
  });
  if (applied.code !== 0) throw new Error(applied.stderr);
  proxy = await startFaultProxy({ kubeconfigPath: env.cluster.kubeconfigPath });
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  trustgate = await startTrustgateProcess({
    kubeconfigPath: proxy.kubeconfigPath,
    namespace: NAMESPACE,
    name: flag('service-name') as string,
    webhookConfigName: flag('webhook-config-name'),
    args,
  });
  await trustgate.ready();
}, 90_000);

afterAll(async () => {
  await trustgate?.stop();
  await proxy?.stop();
  if (clusterRole) await env?.cluster.kubectl(['delete', 'clusterrole', clusterRole.metadata.name]);
  await env?.stop();
});

async function runScenario(): Promise<void> {
  const forced = `p-${env.id}-forced`;
  const evicting = `p-${env.id}-evict`;
  // The evicting policy governs a namespace of its own, so no pod falls under both.
  const evictEnv: Env = { ...env, ns: `${env.ns}-evict` };
  await createNamespace(env.cluster, evictEnv.ns, { 'trustgate-test-evict': env.id });
  const base = policyObject(env, evicting, { onDrift: { podAction: 'Evict' } });
  const evictPolicy = {
    ...base,
    spec: {
      ...base.spec,
      workloadSelector: { namespaceSelector: { matchLabels: { 'trustgate-test-evict': env.id } } },
    },
  };
  await createPolicy(env, policyObject(env, forced));
  await createPolicy(env, evictPolicy);
  const sa = await createServiceAccount(env, 'rot');
  await createServiceAccount(evictEnv, 'ev');
  await createGrant(env, 'rot', 'rot', forced, { rotateServiceAccount: true });
  await createGrant(evictEnv, 'ev', 'ev', evicting);
  await env.client.create(`/api/v1/namespaces/${env.ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'rot-legacy', annotations: { 'kubernetes.io/service-account.name': 'rot' } },
    type: 'kubernetes.io/service-account-token',
  });
  const pools = [
    { env, policy: forced, node: `${forced}-n1`, pod: 'rot-1', sa: 'rot' },
    { env: evictEnv, policy: evicting, node: `${evicting}-n1`, pod: 'ev-1', sa: 'ev' },
  ];
  for (const p of pools) {
    await createNode(env, p.node, p.policy);
    await attest(env, p.node);
    // The webhook may not have seen the node's attestation or the grant yet.
    await waitFor(() => createPod(p.env, p.pod, p.node, p.sa).then(() => true), `pod ${p.pod}`);
  }
  // Reports: each node's ClusterPolicyReport is created now and rewritten on drift; the
  // namespace's PolicyReport goes once drift has removed every governed pod in it.
  const nodeReport = (node: string) =>
    env.client
      .get<{ summary?: { fail?: number } }>(
        `/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/trustgate-node-${node}`,
      )
      .catch(() => undefined);
  for (const p of pools) await waitFor(() => nodeReport(p.node), `report on ${p.node}`);
  // A second pod changes the namespace's report (its pass count): an update.
  const nsReport = () =>
    env.client
      .get<{ summary?: { pass?: number } }>(
        `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${env.ns}/policyreports/trustgate-${forced}`,
      )
      .catch(() => undefined);
  const passing = (await waitFor(() => nsReport(), 'the namespace report')).summary?.pass ?? 0;
  await createPod(env, 'rot-2', `${forced}-n1`, 'rot');
  await waitFor(
    async () => ((await nsReport())?.summary?.pass ?? 0) > passing,
    'the namespace report updated',
  );
  for (const p of pools) {
    await drift(env, [p.node]);
    // Recorded as finished: an evicted pod may stay terminating where no kubelet runs.
    await waitFor(
      async () =>
        JSON.parse(
          (await getNode(env, p.node)).metadata.annotations?.['trustgate.dev/revocation'] ?? '{}',
        )[p.policy]?.phase === 'revoked',
      `revocation under ${p.policy}`,
      45_000,
    );
  }
  for (const p of pools) {
    await waitFor(
      async () => ((await nodeReport(p.node))?.summary?.fail ?? 0) > 0,
      `${p.node} reported untrusted`,
    );
  }
  await waitFor(
    () =>
      env.client
        .get(`/apis/wgpolicyk8s.io/v1alpha2/namespaces/${env.ns}/policyreports/trustgate-${forced}`)
        .then(
          () => false,
          () => true,
        ),
    'the emptied namespace report deleted',
  );
  // A node leaving the pool is governed by nothing: its report is deleted.
  await env.client.patch(`/api/v1/nodes/${evicting}-n1`, {
    metadata: { labels: { 'trustgate-test-pool': null } },
  });
  await waitFor(
    async () => !(await nodeReport(`${evicting}-n1`)),
    'the ungoverned node report deleted',
  );
  await waitFor(async () => {
    const cur = await env.client.get<{ metadata: { uid: string } }>(
      `/api/v1/namespaces/${env.ns}/serviceaccounts/rot`,
    );
    return cur.metadata.uid !== (sa as { metadata: { uid: string } }).metadata.uid;
  }, 'service account rotated');
  await waitFor(
    () =>
      env.client.get(`/api/v1/namespaces/${env.ns}/secrets/rot-legacy`).then(
        () => false,
        () => true,
      ),
    'legacy token Secret deleted',
  );
}

describe("the chart's RBAC", () => {
  it('grants every request trustgate sends, and nothing it never uses', async () => {
    await runScenario();
    // A graceful stop releases the Lease: that write counts too. (stop() would then
    // clean up through the proxy as the test's admin, which is not trustgate.)
    trustgate?.child.kill('SIGTERM');
    await trustgate?.exited();

    const clusterRules = clusterRole.rules as PolicyRule[];
    const roleRules = role.rules as PolicyRule[];
    const rulesFor = (a: Attributes) =>
      a.kind === 'resource' && a.namespace === NAMESPACE
        ? [...clusterRules, ...roleRules]
        : clusterRules;
    const used = proxy.requests().map(attributesOf); // trustgate's requests only
    const refused = used.filter((a) => !rulesFor(a).some((r) => ruleAllows(r, a)));
    expect([...new Set(refused.map((a) => JSON.stringify(a)))]).toEqual([]);

    const unused: string[] = [];
    for (const rule of [...clusterRules, ...roleRules]) {
      for (const grant of grantsOf(rule)) {
        const exercised = used.some((a) => grantOf(a) === grant && ruleAllows(rule, a));
        if (!exercised && !UNEXERCISED[grant]) unused.push(grant);
      }
    }
    expect(unused).toEqual([]);
    process.stderr.write(
      `rbac [${env.cluster.tier}]: ${new Set(used.map(grantOf)).size} distinct grants used by ${used.length} requests\n`,
    );
  }, 150_000);
});
