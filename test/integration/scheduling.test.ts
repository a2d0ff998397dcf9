// Governed pods land on trusted nodes whatever onDrift says, with a real kube-scheduler on
// the real tier (the sandbox's scheduler otherwise). One trusted and one untrusted node,
// both Ready with capacity; the pods/binding webhook refuses the untrusted one. With
// `onDrift.taint: false` trustgate keeps trustgate.dev/untrusted:PreferNoSchedule on the
// untrusted node, so the scheduler stops offering it (issue 12: before, an empty untrusted
// node outscored the trusted one and 2 of 4 pods were still Pending after 90 s). The
// default NoSchedule taint gives the same outcome.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Kubelet } from '../../hack/sandbox/kubelet.ts';
import type { EndpointTrustPolicy } from '../../operator/api/types.generated.ts';
import { KubeApiError } from '../../operator/kube/rest.ts';
import { startReadyNode } from '../support/nodes.ts';
import { GOOD_POSTURE, makePolicy, signAttestation } from '../unit/webhook/world.ts';
import {
  applyAttestation,
  createNamespace,
  createPolicy,
  createServiceAccount,
  setupWebhookEnv,
  TG,
  type WebhookEnv,
  waitFor,
} from './webhook/env.ts';

const TAINT_KEY = 'trustgate.dev/untrusted';
/** How long four pods may take to be bound; the stall this guards against lasted > 90 s. */
const BIND_WITHIN_MS = 15_000;

interface NodeView {
  metadata: { labels?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
}
interface PodView {
  metadata: { name: string };
  spec: { nodeName?: string };
}

let env: WebhookEnv;
let ns: string;
let trusted: string;
let untrusted: string;
const kubelets: Kubelet[] = [];

const ourTaint = async (node: string) =>
  (await env.client.get<NodeView>(`/api/v1/nodes/${node}`)).spec?.taints?.find(
    (t) => t.key === TAINT_KEY,
  );
const taintOnUntrusted = (effect: string) =>
  waitFor(async () => {
    const t = await ourTaint(untrusted);
    return t?.effect === effect ? t : undefined;
  }, `${effect} on the untrusted node`);
const trustLabel = async (node: string, policy: string) =>
  (await env.client.get<NodeView>(`/api/v1/nodes/${node}`)).metadata.labels?.[
    `trust.trustgate.dev/${policy}`
  ];

async function attest(node: string, posture: Record<string, unknown>) {
  await applyAttestation(env, node, await signAttestation(env.key, node, Date.now(), posture));
}

function policy(name: string, onDrift: Record<string, unknown>): EndpointTrustPolicy {
  const p = makePolicy(name, env.key, {
    pool: `sched-${env.id}`,
    namespaces: [ns],
    requireGrant: false,
  });
  p.spec.enforcement = { mode: 'Enforce', onDrift };
  return p;
}

/** Creates the policy and waits until its webhook is registered. */
async function enforce(p: EndpointTrustPolicy) {
  await createPolicy(env, p);
  const webhook = `${p.metadata.name}.workloads.trustgate.dev`;
  await waitFor(async () => {
    const cfg = await env.client.get<{ webhooks?: { name: string }[] }>(
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/trustgate-${env.id}`,
    );
    return cfg.webhooks?.some((w) => w.name === webhook);
  }, `webhook ${webhook}`);
}

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: {
    serviceAccountName: 'runner',
    terminationGracePeriodSeconds: 0,
    containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
  },
});

/**
 * Four replicas of one governed pod template: a Deployment where kube-controller-manager
 * runs; on the sandbox, which has no workload controllers, the four pods it would create.
 */
async function replicas(app: string) {
  if (env.cluster.tier === 'sandbox') {
    for (let i = 0; i < 4; i++) {
      const t = template(app);
      await env.client.create(`/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        ...t,
        metadata: { ...t.metadata, name: `${app}-${i}` },
      });
    }
    return;
  }
  await env.client.create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app },
    spec: { replicas: 4, selector: { matchLabels: { app } }, template: template(app) },
  });
}

/** Creates the replicas; resolves with where they were bound and how long that took. */
async function scheduleFour(app: string): Promise<{ nodes: string[]; ms: number }> {
  const start = Date.now();
  await replicas(app);
  const pods = await waitFor(
    async () => {
      const list = await env.client.get<{ items: PodView[] }>(`/api/v1/namespaces/${ns}/pods`, {
        labelSelector: `app=${app}`,
      });
      return list.items.length === 4 && list.items.every((p) => p.spec.nodeName)
        ? list.items
        : undefined;
    },
    `4 pods of ${app} bound`,
    BIND_WITHIN_MS * 2,
  );
  const ms = Date.now() - start;
  process.stderr.write(`scheduling.test: 4 pods of ${app} bound in ${ms} ms\n`);
  return { nodes: pods.map((p) => p.spec.nodeName ?? ''), ms };
}

beforeAll(async () => {
  env = await setupWebhookEnv({ scheduler: true });
  ns = `sched-${env.id}`;
  await createNamespace(env, ns);
  await createServiceAccount(env, ns, 'runner');
  // Named so that, all else equal, the untrusted node sorts (and, empty, scores) first.
  untrusted = `sched-${env.id}-a`;
  trusted = `sched-${env.id}-b`;
  for (const node of [untrusted, trusted]) {
    kubelets.push(await startReadyNode(env.cluster, node, { pool: `sched-${env.id}` }));
  }
  await attest(trusted, GOOD_POSTURE);
  await attest(untrusted, { ...GOOD_POSTURE, diskEncryption: false });
  await env.start(['--controllers=true']);
}, 120_000);

afterAll(async () => {
  for (const k of kubelets) await k.stop();
  await env?.stop();
});

describe('governed pods and the scheduler', () => {
  const lenient = `lenient-${Date.now().toString(36)}`;
  const strict = `strict-${Date.now().toString(36)}`;

  it('with onDrift.taint false, prefers the trusted node: 4 pods bound there within seconds', async () => {
    await enforce(policy(lenient, { taint: false }));
    expect(await taintOnUntrusted('PreferNoSchedule')).toMatchObject({ value: lenient });
    await waitFor(async () => (await trustLabel(trusted, lenient)) === 'true', 'trusted label');
    expect(await ourTaint(trusted)).toBeUndefined();

    // The webhook does refuse the untrusted node: a scheduler that picked it would stall.
    await env.client.create(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'probe' },
      spec: { ...template('probe').spec, schedulerName: 'nobody' },
    });
    const refused = await env.client
      .create(`/api/v1/namespaces/${ns}/pods/probe/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'probe' },
        target: { apiVersion: 'v1', kind: 'Node', name: untrusted },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).message).toContain(lenient);
    await env.client.delete(`/api/v1/namespaces/${ns}/pods/probe`);

    const { nodes, ms } = await scheduleFour('lenient');
    expect(nodes).toEqual([trusted, trusted, trusted, trusted]);
    expect(ms).toBeLessThanOrEqual(BIND_WITHIN_MS);
  }, 90_000);

  it('lifts the PreferNoSchedule taint when the node is trusted again', async () => {
    await attest(untrusted, GOOD_POSTURE);
    await waitFor(
      async () => (await trustLabel(untrusted, lenient)) === 'true' && !(await ourTaint(untrusted)),
      'untrusted node trusted and untainted',
    );
  });

  it('with the default NoSchedule taint, the same 4 pods go to the trusted node', async () => {
    await env.client.delete(`/apis/${TG.group}/${TG.version}/endpointtrustpolicies/${lenient}`);
    await attest(untrusted, { ...GOOD_POSTURE, diskEncryption: false });
    await enforce(policy(strict, {}));
    expect(await taintOnUntrusted('NoSchedule')).toMatchObject({ value: strict });
    const { nodes, ms } = await scheduleFour('strict');
    expect(nodes).toEqual([trusted, trusted, trusted, trusted]);
    expect(ms).toBeLessThanOrEqual(BIND_WITHIN_MS);
  }, 90_000);
});
