// Shared setup for the operator integration tests: a cluster (sandbox or real), the CRDs,
// a verifier key, signed attestations, and helpers that talk plain kube REST.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from '@jest/globals';
import pino from 'pino';
import { isNotFound, KubeClient, resourcePath } from '../../../operator/kube/rest.ts';
import { parseRunFlags } from '../../../operator/runtime/flags.ts';
import { type Runtime, startRuntime } from '../../../operator/runtime/runtime.ts';
import { applyAttestation } from '../../../operator/verifier/apply.ts';
import { startTestCluster, type TestCluster } from '../../support/cluster.ts';
import {
  startTrustgateProcess,
  type TrustgateProcessOptions,
} from '../../support/trustgate-process.ts';
import { earClaims, ISSUER, makeKey, sign, type TestKey } from '../../unit/trust/fixtures.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const NAMESPACE = 'trustgate-system';
const TG = { group: 'trustgate.dev', version: 'v1alpha1' };
const WG = { group: 'wgpolicyk8s.io', version: 'v1alpha2' };

export interface Env {
  cluster: TestCluster;
  client: KubeClient;
  key: TestKey;
  /** Unique per test file: pool label value, namespace, policy names. */
  id: string;
  ns: string;
  stop(): Promise<void>;
}

export async function setup(): Promise<Env> {
  const cluster = await startTestCluster();
  const client = new KubeClient(cluster.kubeConfig);
  const applied = await cluster.kubectl(['apply', '-f', path.join(root, 'crds')]);
  if (applied.code !== 0) throw new Error(`applying CRDs failed: ${applied.stderr}`);
  // Every CRD applied, the report kinds too: a component listing one too early sees 404.
  const served = ['endpointtrustpolicies', 'trustexemptions']
    .map((plural) => resourcePath({ ...TG, plural }))
    .concat(
      ['policyreports', 'clusterpolicyreports'].map((plural) => resourcePath({ ...WG, plural })),
    );
  await waitFor(
    () =>
      Promise.all(served.map((p) => client.get(p))).then(
        () => true,
        () => false,
      ),
    'CRDs served',
  );
  const id = randomBytes(3).toString('hex');
  const ns = `tg-op-${id}`;
  await ensure(client, resourcePath({ version: 'v1', plural: 'namespaces' }), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NAMESPACE },
  });
  await ensure(client, resourcePath({ version: 'v1', plural: 'namespaces' }), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { 'trustgate-test': id } },
  });
  const key = await makeKey('edr-1');
  return {
    cluster,
    client,
    key,
    id,
    ns,
    async stop() {
      client.close();
      await cluster.stop();
    },
  };
}

async function ensure(
  client: KubeClient,
  collection: string,
  obj: { metadata: { name: string; labels?: Record<string, string> } } & Record<string, unknown>,
) {
  try {
    await client.get(`${collection}/${obj.metadata.name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.create(collection, obj);
  }
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(
        `timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- objects ----

export function policyObject(
  env: Env,
  name: string,
  opts: {
    maxAge?: string;
    onDrift?: Record<string, unknown>;
    mode?: 'Enforce' | 'Audit';
    /** More spec.attestation fields (requireNonce, nonceOverlap, ...). */
    attestation?: Record<string, unknown>;
  } = {},
) {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name },
    spec: {
      nodeSelector: { matchLabels: { 'trustgate-test-pool': `${env.id}-${name}` } },
      workloadSelector: { namespaceSelector: { matchLabels: { 'trustgate-test': env.id } } },
      attestation: {
        verifiers: [
          {
            name: 'corp-edr',
            issuer: ISSUER,
            jwks: { keys: [env.key.publicJwk] },
            algorithms: ['ES256'],
          },
        ],
        maxAge: opts.maxAge ?? '1h',
        posture: [{ key: 'diskEncryption', operator: 'Equals', values: ['true'] }],
        ...opts.attestation,
      },
      workloadIdentity: { requireGrant: true },
      enforcement: {
        mode: opts.mode ?? 'Enforce',
        onDrift: { bootstrapGracePeriod: '1h', ...opts.onDrift },
      },
    },
  };
}

export async function createPolicy(env: Env, policy: object) {
  return env.client.create(resourcePath({ ...TG, plural: 'endpointtrustpolicies' }), policy);
}

export async function createNode(env: Env, name: string, policy: string) {
  return env.client.create(resourcePath({ version: 'v1', plural: 'nodes' }), {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'trustgate-test-pool': `${env.id}-${policy}` } },
    spec: {},
  });
}

export async function signAttestation(
  env: Env,
  node: string,
  posture: Record<string, unknown> = {},
  iatMs = Date.now(),
  claims: Record<string, unknown> = {},
) {
  const base = earClaims();
  return sign(
    env.key,
    earClaims({
      iat: Math.floor(iatMs / 1000),
      sub: node,
      posture: { ...(base.posture as object), ...posture },
      ...claims,
    }),
  );
}

/** Creates or replaces the node's NodeAttestation with a freshly signed token. */
export async function attest(
  env: Env,
  node: string,
  posture: Record<string, unknown> = {},
  iatMs?: number,
  claims?: Record<string, unknown>,
) {
  const token = await signAttestation(env, node, posture, iatMs, claims);
  await applyAttestation(env.client, node, token);
}

export async function createServiceAccount(env: Env, name: string) {
  return env.client.create<{ metadata: { uid: string } }>(
    resourcePath({ version: 'v1', plural: 'serviceaccounts', namespace: env.ns }),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: env.ns } },
  );
}

export async function createGrant(
  env: Env,
  name: string,
  sa: string,
  policy: string,
  extra: Record<string, unknown> = {},
) {
  return env.client.create(resourcePath({ ...TG, plural: 'workloadgrants', namespace: env.ns }), {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'WorkloadGrant',
    metadata: { name, namespace: env.ns },
    spec: { serviceAccountName: sa, policyRef: { name: policy }, ...extra },
  });
}

export async function createPod(env: Env, name: string, node: string, sa: string) {
  return env.client.create<{ metadata: { uid: string } }>(
    resourcePath({ version: 'v1', plural: 'pods', namespace: env.ns }),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: env.ns, labels: { app: 'runner' } },
      spec: {
        nodeName: node,
        serviceAccountName: sa,
        containers: [{ name: 'c', image: 'registry.example/runner:1' }],
        tolerations: [{ operator: 'Exists' }],
      },
    },
  );
}

export async function podExists(env: Env, name: string): Promise<boolean> {
  const path = resourcePath({ version: 'v1', plural: 'pods', namespace: env.ns, name });
  return (await env.client.getIfExists(path)) !== undefined;
}

/** A TokenRequest bound to a pod (or just the service account). */
export async function requestToken(
  env: Env,
  sa: string,
  pod?: { name: string; uid: string },
): Promise<string> {
  const res = await env.client.create<{ status: { token: string } }>(
    `${resourcePath({ version: 'v1', plural: 'serviceaccounts', namespace: env.ns, name: sa })}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        expirationSeconds: 3600,
        ...(pod
          ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } }
          : {}),
      },
    },
  );
  return res.status.token;
}

export async function authenticated(env: Env, token: string): Promise<boolean> {
  const res = await env.client.create<{ status: { authenticated?: boolean } }>(
    '/apis/authentication.k8s.io/v1/tokenreviews',
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
  );
  return res.status.authenticated === true;
}

export interface NodeView {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[] };
}

export async function getNode(env: Env, name: string): Promise<NodeView> {
  return env.client.get<NodeView>(resourcePath({ version: 'v1', plural: 'nodes', name }));
}

export const untrustedTaint = (n: NodeView) =>
  n.spec?.taints?.find((t) => t.key === 'trustgate.dev/untrusted' && t.effect === 'NoSchedule');

export async function getObject<T = Record<string, unknown>>(
  env: Env,
  plural: string,
  name: string,
  namespace?: string,
): Promise<T> {
  return env.client.get<T>(resourcePath({ ...TG, plural, name, namespace }));
}

// ---- an operator in this process ----

/**
 * `trustgate run` in this process, through the runtime the CLI starts: one replica (no
 * election), controllers on, the webhook served but not registered (these tests are about
 * the controllers). Resolves once the caches have synced.
 */
export async function startOperator(env: Env): Promise<Runtime> {
  const name = `tg-op-${env.id}`;
  const runtime = await startRuntime(
    parseRunFlags([
      `--kubeconfig=${env.cluster.kubeconfigPath}`,
      `--namespace=${NAMESPACE}`,
      '--bind-address=127.0.0.1',
      '--webhook-port=0',
      '--metrics-port=0',
      '--webhook-url=https://127.0.0.1/validate',
      `--service-name=${name}`,
      '--manage-webhook-configuration=false',
      '--leader-elect=false',
    ]),
    pino({ level: process.env.TRUSTGATE_TEST_LOG ?? 'silent' }),
  );
  await waitFor(() => runtime.ready(), 'operator caches synced', 30_000);
  return runtime;
}

/**
 * For a test file: a cluster and `trustgate run` on it before the tests, both stopped
 * after. Returns them (valid once the tests run).
 */
export function withOperator(): () => { env: Env; operator: Runtime } {
  let env: Env | undefined;
  let operator: Runtime | undefined;
  beforeAll(async () => {
    env = await setup();
    operator = await startOperator(env);
  }, 60_000);
  afterAll(async () => {
    await operator?.stop();
    await env?.stop();
  });
  return () => {
    if (!env || !operator) throw new Error('the test cluster is not set up');
    return { env, operator };
  };
}

/**
 * An operator replica as the image runs it: a `trustgate run` child with short
 * leader-election timings and no webhook configuration, through `kubeconfigPath` (a fault
 * proxy's, say). `args` come after these, so a test can override them.
 */
export function startReplica(
  env: Env,
  name: string,
  podName: string,
  kubeconfigPath = env.cluster.kubeconfigPath,
  args: string[] = [],
  more: Pick<TrustgateProcessOptions, 'webhookPort' | 'webhookUrl'> = {},
) {
  return startTrustgateProcess({
    echo: process.env.TRUSTGATE_TEST_ECHO === '1',
    ...more,
    kubeconfigPath,
    namespace: NAMESPACE,
    name,
    podName,
    args: [
      '--manage-webhook-configuration=false',
      '--leader-elect-lease-duration=3s',
      '--leader-elect-renew-deadline=2s',
      '--leader-elect-retry-period=300ms',
      `--log-level=${process.env.TRUSTGATE_TEST_LOG ?? 'warn'}`,
      ...args,
    ],
  });
}
