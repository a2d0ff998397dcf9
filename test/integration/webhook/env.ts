// Setup for the webhook integration tests: a cluster (sandbox or real), the CRDs, a test
// namespace, nodes, and `trustgate run` started in-process with --webhook-url, so the API
// server calls the webhook over HTTPS exactly as kube-apiserver does.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { EndpointTrustPolicy } from '../../../operator/api/types.generated.ts';
import { isNotFound, KubeClient, resourcePath } from '../../../operator/kube/rest.ts';
import { parseRunFlags } from '../../../operator/runtime/flags.ts';
import { type Runtime, startRuntime } from '../../../operator/runtime/runtime.ts';
import { applyAttestation as writeAttestation } from '../../../operator/verifier/apply.ts';
import {
  startTestCluster,
  type TestCluster,
  type TestClusterOptions,
} from '../../support/cluster.ts';
import { ensureNamespace } from '../../support/namespace.ts';
import { freePort } from '../../support/trustgate-process.ts';
import { makeVerifierKey, type VerifierKey } from '../../unit/webhook/world.ts';
import { waitFor } from '../operator/harness.ts';

export { waitFor };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const TG = { group: 'trustgate.dev', version: 'v1alpha1' };

export interface WebhookEnv {
  cluster: TestCluster;
  client: KubeClient;
  key: VerifierKey;
  id: string;
  /** The trustgate namespace of this run (excluded from the webhook). */
  system: string;
  runtime?: Runtime;
  start(extraFlags?: string[]): Promise<Runtime>;
  stop(): Promise<void>;
}

export async function ensure(
  client: KubeClient,
  collection: string,
  obj: { metadata: { name: string } & Record<string, unknown> } & Record<string, unknown>,
) {
  try {
    await client.get(`${collection}/${obj.metadata.name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.create(collection, obj);
  }
}

export async function setupWebhookEnv(opts: TestClusterOptions = {}): Promise<WebhookEnv> {
  const cluster = await startTestCluster(opts);
  const client = new KubeClient(cluster.kubeConfig);
  const applied = await cluster.kubectl(['apply', '-f', path.join(root, 'crds')]);
  if (applied.code !== 0) throw new Error(`applying CRDs failed: ${applied.stderr}`);
  await waitFor(async () => {
    await client.get(resourcePath({ ...TG, plural: 'endpointtrustpolicies' }));
    return true;
  }, 'CRDs served');
  const id = randomBytes(3).toString('hex');
  const system = `tg-wh-system-${id}`;
  await ensure(client, '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: system },
  });
  const key = await makeVerifierKey(`wh-${id}`);
  const env: WebhookEnv = {
    cluster,
    client,
    key,
    id,
    system,
    async start(extraFlags = []) {
      // One trustgate at a time: a runtime left running would keep writing and serving.
      await env.runtime?.stop();
      const port = await freePort();
      const options = parseRunFlags([
        '--kubeconfig',
        cluster.kubeconfigPath,
        '--namespace',
        system,
        '--bind-address',
        '127.0.0.1',
        '--webhook-port',
        String(port),
        '--metrics-port',
        '0',
        '--webhook-url',
        `https://127.0.0.1:${port}/validate`,
        '--webhook-config-name',
        `trustgate-${id}`,
        '--service-name',
        `trustgate-${id}`,
        '--leader-elect=false',
        '--controllers=false',
        ...extraFlags,
      ]);
      const runtime = await startRuntime(
        options,
        pino({ level: process.env.TRUSTGATE_TEST_LOG ?? 'silent' }),
      );
      env.runtime = runtime;
      await waitFor(() => runtime.ready(), 'trustgate ready');
      await runtime.caches.waitForSync();
      await waitFor(async () => {
        const cfg = await client.get<{ webhooks?: { clientConfig?: { caBundle?: string } }[] }>(
          `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/trustgate-${id}`,
        );
        return cfg.webhooks?.every((w) => w.clientConfig?.caBundle);
      }, 'webhook configuration registered');
      return runtime;
    },
    async stop() {
      await env.runtime?.stop();
      await client
        .delete(
          `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/trustgate-${id}`,
        )
        .catch(() => undefined);
      client.close();
      await cluster.stop();
    },
  };
  return env;
}

export function createNamespace(env: WebhookEnv, name: string) {
  return ensureNamespace(env.client, name);
}

export async function createNode(env: WebhookEnv, name: string, labels: Record<string, string>) {
  await ensure(env.client, '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
  });
}

export async function createServiceAccount(env: WebhookEnv, namespace: string, name: string) {
  await ensure(env.client, `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace },
  });
}

export async function applyAttestation(env: WebhookEnv, node: string, token: string) {
  await writeAttestation(env.client, node, token);
}

export async function createPolicy(env: WebhookEnv, policy: EndpointTrustPolicy) {
  const { uid: _u, resourceVersion: _r, generation: _g, ...metadata } = policy.metadata;
  await env.client.create(resourcePath({ ...TG, plural: 'endpointtrustpolicies' }), {
    ...policy,
    metadata,
  });
}

/** A client that authenticates as the kubelet of `node`, as a real kubelet does. */
export async function kubeletClient(env: WebhookEnv, node: string): Promise<KubeClient> {
  return new KubeClient(await env.cluster.nodeKubeConfig(node));
}
