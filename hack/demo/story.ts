// The demo's story: install, attest, admit and deny, drift and revoke, recover.
// Every step checks what it claims; a step that does not behave throws DemoFailure.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthenticationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { runCaptured } from '../../operator/cli/main.ts';
import { freePort } from '../free-port.ts';
import { type Kubelet, startKubelet } from '../sandbox/kubelet.ts';
import { type DemoControlPlane, startDemoControlPlane } from './control-plane.ts';
import { type Kubectl, kubectlFor } from './kubectl.ts';
import {
  GOOD_POSTURE,
  ISSUER,
  NAMESPACE,
  POLICY,
  POOL_LABEL,
  RUNNER_SA,
  runnerPod,
  setupManifests,
} from './manifests.ts';
import { DemoFailure, expect, type Narrator } from './narrator.ts';
import { type RunningProcess, startTrustgate } from './processes.ts';
import { waitFor } from './wait.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DRIFT_GRACE = '2s';
const TAINT_KEY = 'trustgate.dev/untrusted';
const TRUST_LABEL = `trust.trustgate.dev/${POLICY}`;
const RUNNERS = ['runner-1', 'runner-2'];

export interface DemoEnvironment {
  cluster: DemoControlPlane;
  kubelets: Kubelet[];
  operator: RunningProcess;
  kubectl: Kubectl;
  dir: string;
  metricsUrl: string;
}

/** Runs the trustgate CLI in-process, returning what it printed; fails the demo on error. */
async function cli(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCaptured(args);
  if (code !== 0) throw new DemoFailure(`trustgate ${args.join(' ')} failed: ${stderr.trim()}`);
  return stdout;
}

async function kubectlOk(kubectl: Kubectl, args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new DemoFailure(`kubectl ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The verifier's path: `trustgate attest publish --once` reads the nonce, signs, applies. */
async function attest(env: DemoEnvironment, node: string, posture: object): Promise<void> {
  const postureFile = path.join(env.dir, `posture-${node}.json`);
  await writeFile(postureFile, JSON.stringify(posture));
  await cli([
    'attest',
    'publish',
    '--once',
    '--max-failures=3',
    '--key',
    path.join(env.dir, 'keys', 'private.jwk'),
    '--node',
    node,
    '--posture',
    postureFile,
    '--issuer',
    ISSUER,
    '--kubeconfig',
    env.cluster.kubeconfigPath,
  ]);
}

async function trustOf(env: DemoEnvironment, node: string): Promise<string | undefined> {
  const out = await env.kubectl(['get', 'node', node, '-o', 'json']);
  if (out.code !== 0) return undefined;
  return (JSON.parse(out.stdout) as { metadata: { labels?: Record<string, string> } }).metadata
    .labels?.[TRUST_LABEL];
}

async function hasTaint(env: DemoEnvironment, node: string): Promise<boolean> {
  const out = await kubectlOk(env.kubectl, ['get', 'node', node, '-o', 'json']);
  const taints =
    (JSON.parse(out) as { spec?: { taints?: { key: string; effect: string }[] } }).spec?.taints ??
    [];
  // The NoSchedule taint of drift actions, not the PreferNoSchedule one an untrusted node
  // carries during the grace period.
  return taints.some((t) => t.key === TAINT_KEY && t.effect === 'NoSchedule');
}

async function podExists(env: DemoEnvironment, name: string): Promise<boolean> {
  const r = await env.kubectl(['get', 'pod', name, '-n', NAMESPACE, '-o', 'name']);
  if (r.code === 0) return true;
  if (/NotFound|not found/.test(r.stderr)) return false;
  throw new DemoFailure(`kubectl get pod ${name} failed: ${r.stderr.trim()}`);
}

/** What an API that accepts service-account tokens asks the API server: TokenReview. */
async function reviewAuthenticated(env: DemoEnvironment, token: string): Promise<boolean> {
  const review = await env.cluster
    .admin()
    .makeApiClient(AuthenticationV1Api)
    .createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
  return review.status?.authenticated === true;
}

/** A kubelet's projected-token refresh: TokenRequest as system:node:<node> for a pod bound there. */
async function kubeletTokenRefresh(env: DemoEnvironment, node: string, pod: string) {
  const kc = await env.cluster.nodeKubeConfig(node);
  const podUid = JSON.parse(
    await kubectlOk(env.kubectl, ['get', 'pod', pod, '-n', NAMESPACE, '-o', 'json']),
  ).metadata.uid as string;
  try {
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: RUNNER_SA,
      namespace: NAMESPACE,
      body: {
        spec: {
          audiences: [],
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod, uid: podUid },
        },
      },
    });
    return { allowed: true, message: '' };
  } catch (err) {
    const body = (err as { body?: string }).body;
    const message = body ? (JSON.parse(body) as { message?: string }).message : String(err);
    return { allowed: false, message: message ?? String(err) };
  }
}

export async function startEnvironment(
  dir: string,
  say: Narrator,
  opts: { real?: boolean } = {},
): Promise<DemoEnvironment> {
  await mkdir(path.join(dir, 'keys'), { recursive: true });
  const cluster = await startDemoControlPlane(dir, opts.real ?? false);
  say.say(`running on ${cluster.description}`);
  const kubectl = await kubectlFor(cluster.kubeconfigPath);
  say.step('Install trustgate: CRDs, a CI-runner policy and a grant for the runner identity');
  await cli([
    'keys',
    'generate',
    '--alg',
    'ES256',
    '--kid',
    'demo-verifier-1',
    '--out',
    path.join(dir, 'keys'),
  ]);
  say.say('generated a verifier signing key (the endpoint verifier keeps the private half)');
  say.show(
    'kubectl apply -f crds/',
    await kubectlOk(kubectl, ['apply', '-f', path.join(root, 'crds')]),
  );
  await kubectlOk(kubectl, [
    'wait',
    '--for',
    'condition=established',
    '--timeout=30s',
    'crd',
    '-l',
    'app.kubernetes.io/name=trustgate',
  ]);
  const jwks = JSON.parse(await readFile(path.join(dir, 'keys', 'jwks.json'), 'utf8'));
  await kubectlOk(kubectl, ['create', 'namespace', 'trustgate-system']);
  say.show(
    'kubectl apply -f policy-and-grant.yaml',
    await kubectlOk(kubectl, ['apply', '-f', '-'], setupManifests(jwks, DRIFT_GRACE)),
  );
  // Two runner hosts join: their kubelets register the nodes, the admin puts them in the pool.
  const kubelets = await Promise.all(
    RUNNERS.map(async (node) =>
      startKubelet({
        kubeConfig: await cluster.nodeKubeConfig(node),
        nodeName: node,
        register: {},
      }),
    ),
  );
  await waitFor(
    'the runner kubelets to register their nodes',
    async () => (await kubectl(['get', 'nodes', ...RUNNERS])).code === 0,
  );
  say.show(
    `kubectl label node ${RUNNERS.join(' ')} ${POOL_LABEL}=${POLICY}`,
    await kubectlOk(kubectl, ['label', 'node', ...RUNNERS, `${POOL_LABEL}=${POLICY}`]),
  );

  const webhookPort = await freePort();
  const metricsPort = await freePort();
  const operator = await startTrustgate(
    [
      'run',
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--namespace',
      'trustgate-system',
      '--webhook-port',
      String(webhookPort),
      '--metrics-port',
      String(metricsPort),
      '--webhook-url',
      `https://127.0.0.1:${webhookPort}`,
    ],
    {
      logFile: path.join(dir, 'trustgate-run.log'),
    },
  );
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  await waitFor(
    'trustgate to report ready on /readyz',
    async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
      return res?.ok;
    },
    { timeoutMs: 60_000 },
  );
  say.ok(
    `trustgate run is ready (webhook https://127.0.0.1:${webhookPort}, metrics ${metricsUrl})`,
  );
  return { cluster, kubelets, operator, kubectl, dir, metricsUrl };
}

export async function tellStory(env: DemoEnvironment, say: Narrator): Promise<void> {
  say.step('Two runner nodes attest: runner-1 is compliant, runner-2 has no disk encryption');
  await attest(env, 'runner-1', GOOD_POSTURE);
  await attest(env, 'runner-2', { ...GOOD_POSTURE, diskEncryption: false });
  await waitFor(
    'runner-1 to be labelled trusted',
    async () => (await trustOf(env, 'runner-1')) === 'true',
  );
  await waitFor(
    'runner-2 to be labelled untrusted',
    async () => (await trustOf(env, 'runner-2')) === 'false',
  );
  say.show(
    'kubectl get nodeattestations',
    await kubectlOk(env.kubectl, ['get', 'nodeattestations']),
  );
  say.show(
    `kubectl get nodes -L ${TRUST_LABEL}`,
    await kubectlOk(env.kubectl, ['get', 'nodes', '-L', TRUST_LABEL]),
  );

  say.step('Admission: a runner pod on the trusted node is admitted, on the untrusted one denied');
  say.show(
    'kubectl apply -f runner-a.yaml  (runner-1)',
    await kubectlOk(env.kubectl, ['apply', '-f', '-'], runnerPod('runner-a', 'runner-1')),
  );
  const denied = await env.kubectl(['apply', '-f', '-'], runnerPod('runner-b', 'runner-2'));
  expect(denied.code !== 0, 'a runner pod on untrusted runner-2 was admitted');
  expect(
    /denied the request/.test(denied.stderr),
    `unexpected error for runner-b: ${denied.stderr}`,
  );
  say.show('kubectl apply -f runner-b.yaml  (runner-2)', denied.stderr);
  const intruder = await env.kubectl(
    ['apply', '-f', '-'],
    runnerPod('intruder', 'runner-1', 'intruder'),
  );
  expect(intruder.code !== 0, 'a pod of the ungranted service account "intruder" was admitted');
  say.show('kubectl apply -f intruder.yaml  (service account without a grant)', intruder.stderr);

  await waitFor('runner-a to be Running on runner-1', async () => {
    const r = await env.kubectl([
      'get',
      'pod',
      'runner-a',
      '-n',
      NAMESPACE,
      '-o',
      'jsonpath={.status.phase}',
    ]);
    return r.stdout === 'Running';
  });
  say.show(
    `kubectl get pods -n ${NAMESPACE} -o wide`,
    await kubectlOk(env.kubectl, ['get', 'pods', '-n', NAMESPACE, '-o', 'wide']),
  );
  const token = (
    await kubectlOk(env.kubectl, [
      'create',
      'token',
      RUNNER_SA,
      '-n',
      NAMESPACE,
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'runner-a',
    ])
  ).trim();
  expect(
    await reviewAuthenticated(env, token),
    'the token bound to runner-a did not pass a TokenReview',
  );
  say.ok(
    `runner-a holds a pod-bound token (${token.length} bytes, not shown); TokenReview: authenticated`,
  );

  say.step('runner-1 drifts: its EDR stops reporting healthy');
  const driftAt = Date.now();
  await attest(env, 'runner-1', { ...GOOD_POSTURE, edr: { healthy: false, version: '7.4.2' } });
  const refresh = await waitFor(
    'the kubelet on runner-1 to be refused a token',
    async () => {
      const r = await kubeletTokenRefresh(env, 'runner-1', 'runner-a');
      return r.allowed ? undefined : r;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  say.show('kubelet on runner-1: TokenRequest for runner-a', refresh.message);
  await waitFor('runner-1 to be tainted', () => hasTaint(env, 'runner-1'), { intervalMs: 50 });
  await waitFor('runner-a to be removed', async () => !(await podExists(env, 'runner-a')), {
    intervalMs: 50,
  });
  const revokedAfter = Date.now() - driftAt;
  say.show(
    `kubectl get node runner-1 -o jsonpath='{.spec.taints}'`,
    await kubectlOk(env.kubectl, ['get', 'node', 'runner-1', '-o', 'jsonpath={.spec.taints}']),
  );
  // kube-apiserver caches a successful token check for about 10 s; then it must fail.
  await waitFor(
    'the token of the removed runner-a to stop passing a TokenReview',
    async () => !(await reviewAuthenticated(env, token)),
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  say.ok('runner-a is gone and its token no longer passes a TokenReview');
  say.ok(
    `drift to revocation: ${revokedAfter} ms from the new attestation (grace period ${DRIFT_GRACE} included)`,
  );
  const columns = 'custom-columns=OBJECT:.involvedObject.name,REASON:.reason,MESSAGE:.message';
  say.show(
    `kubectl get events -n ${NAMESPACE} -o ${columns}`,
    await kubectlOk(env.kubectl, ['get', 'events', '-n', NAMESPACE, '-o', columns]),
  );

  say.step('runner-1 is fixed and attests again');
  await attest(env, 'runner-1', GOOD_POSTURE);
  await waitFor('runner-1 to lose its taint', async () => !(await hasTaint(env, 'runner-1')));
  await waitFor(
    'runner-1 to be labelled trusted again',
    async () => (await trustOf(env, 'runner-1')) === 'true',
  );
  say.show(
    `kubectl get nodes -L ${TRUST_LABEL}`,
    await kubectlOk(env.kubectl, ['get', 'nodes', '-L', TRUST_LABEL]),
  );
  say.ok('runner-1 is trusted and schedulable again; nothing was restored by hand');
}
