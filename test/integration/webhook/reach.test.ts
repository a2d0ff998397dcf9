// The webhook's reach follows the policies, on a real API server as on the sandbox:
// - with no EndpointTrustPolicy, trustgate being down blocks no pod and no token anywhere;
// - with one, it fails closed in the namespaces the policy governs and nowhere else;
// - deleting the owner ClusterRole (what uninstalling the chart does) removes the
//   configuration, and governed namespaces work again without trustgate.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeApiError } from '../../../operator/kube/rest.ts';
import { makePolicy } from '../../unit/webhook/world.ts';
import {
  createNamespace,
  createPolicy,
  setupWebhookEnv,
  TG,
  type WebhookEnv,
  waitFor,
} from './env.ts';

const CONFIGS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const ROLES = '/apis/rbac.authorization.k8s.io/v1/clusterroles';

interface Config {
  metadata: { ownerReferences?: { kind: string; name: string; uid: string }[] };
  webhooks?: { name: string }[];
}

let env: WebhookEnv;
let governed: string;
let other: string;
let policy: string;

const config = () => env.client.get<Config>(`${CONFIGS}/trustgate-${env.id}`);
const webhookNames = async () => ((await config()).webhooks ?? []).map((w) => w.name);

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
});

/** A pod and a TokenRequest in `namespace`; resolves to the error, or undefined if both pass. */
async function podAndToken(namespace: string, name: string): Promise<KubeApiError | undefined> {
  try {
    await env.client.create(`/api/v1/namespaces/${namespace}/pods`, pod(name));
    await env.client.create(`/api/v1/namespaces/${namespace}/serviceaccounts/default/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [], expirationSeconds: 3600 },
    });
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
}

/** Starts trustgate, waits until its configuration has the workloads webhooks named. */
async function startWith(webhooks: string[], flags: string[] = []) {
  await env.start(flags);
  await waitFor(
    async () => {
      const names = await webhookNames();
      return JSON.stringify(names) === JSON.stringify(webhooks) ? names : undefined;
    },
    `webhooks ${webhooks.join(', ')}`,
  );
}

beforeAll(async () => {
  env = await setupWebhookEnv();
  governed = `governed-${env.id}`;
  other = `other-${env.id}`;
  policy = `reach-${env.id}`;
  await createNamespace(env, governed);
  await createNamespace(env, other);
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('the webhook reach', () => {
  it('has no workloads webhook without a policy, so an outage blocks nothing', async () => {
    await startWith(['resources.trustgate.dev']);
    await env.runtime?.stop();
    expect(await podAndToken(other, 'no-policy')).toBeUndefined();
    expect(await podAndToken(governed, 'no-policy')).toBeUndefined();
  });

  it('fails closed where a policy governs, and nowhere else', async () => {
    await createPolicy(env, makePolicy(policy, env.key, { pool: env.id, namespaces: [governed] }));
    await startWith([`${policy}.workloads.trustgate.dev`, 'resources.trustgate.dev']);
    await env.runtime?.stop();
    const denied = await podAndToken(governed, 'while-down');
    expect(denied?.message).toContain(`failed calling webhook "${policy}.workloads.trustgate.dev"`);
    expect(await podAndToken(other, 'while-down')).toBeUndefined();
  });

  it('sends only the pods a podSelector matches (matchConditions)', async () => {
    const selective = `${policy}-pods`;
    const path = `/apis/${TG.group}/${TG.version}/endpointtrustpolicies/${selective}`;
    await createPolicy(
      env,
      makePolicy(selective, env.key, {
        pool: env.id,
        namespaces: [other],
        podSelector: { app: 'runner' },
      }),
    );
    try {
      await startWith([
        `${policy}.workloads.trustgate.dev`,
        `${selective}.workloads.trustgate.dev`,
        'resources.trustgate.dev',
      ]);
      await env.runtime?.stop();
      const create = (name: string, labels: Record<string, string>) =>
        env.client
          .create(`/api/v1/namespaces/${other}/pods`, { ...pod(name), metadata: { name, labels } })
          .then(
            () => undefined,
            (e: KubeApiError) => e,
          );
      const err = await create('runner', { app: 'runner' });
      expect(err?.message).toContain(
        `failed calling webhook "${selective}.workloads.trustgate.dev"`,
      );
      expect(await create('web', { app: 'web' })).toBeUndefined();
    } finally {
      await env.client.delete(path);
    }
  });

  it('follows a policy that is deleted', async () => {
    await startWith([`${policy}.workloads.trustgate.dev`, 'resources.trustgate.dev']);
    await env.client.delete(`/apis/${TG.group}/${TG.version}/endpointtrustpolicies/${policy}`);
    await waitFor(
      async () => (await webhookNames()).join() === 'resources.trustgate.dev',
      'the workloads webhook to go',
    );
    await env.runtime?.stop();
    expect(await podAndToken(governed, 'policy-gone')).toBeUndefined();
  });

  it('is removed with its owner ClusterRole, as an uninstall does', async () => {
    const owner = `trustgate-owner-${env.id}`;
    await env.client.create(ROLES, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: owner },
      rules: [],
    });
    await createPolicy(
      env,
      makePolicy(`${policy}-2`, env.key, { pool: env.id, namespaces: [governed] }),
    );
    await startWith(
      [`${policy}-2.workloads.trustgate.dev`, 'resources.trustgate.dev'],
      ['--webhook-owner-cluster-role', owner],
    );
    expect((await config()).metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ClusterRole', name: owner }),
    ]);
    // Uninstall: the release's objects are deleted and trustgate's pods with them.
    await env.runtime?.stop();
    await env.client.delete(`${ROLES}/${owner}`);
    await waitFor(
      () =>
        config().then(
          () => false,
          (err) => err instanceof KubeApiError && err.statusCode === 404,
        ),
      'the configuration to be garbage-collected',
      30_000,
    );
    expect(await podAndToken(governed, 'after-uninstall')).toBeUndefined();
  });
});
