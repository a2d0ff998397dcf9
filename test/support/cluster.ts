// The cluster a test talks to, one of three tiers:
// - external: TRUSTGATE_TEST_KUBECONFIG names an existing cluster (never an ambient
//   KUBECONFIG: the tests create nodes and cluster-wide objects);
// - real: KUBEBUILDER_ASSETS names envtest binaries, and a real etcd + kube-apiserver +
//   kube-controller-manager (+ kube-scheduler on request) start on loopback for this file;
// - sandbox: otherwise, trustgate's local control plane (hack/sandbox) on a free port.
// Tests written against this helper run unchanged on all three, which keeps the sandbox
// honest: where they disagree, the real API server is right.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../../hack/envtest/control-plane.ts';
import { kubeConfigFor } from '../../hack/sandbox/identity/client.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../hack/sandbox/index.ts';
import { type Scheduler, startScheduler } from '../../hack/sandbox/scheduler.ts';
import { ensureTools } from '../../hack/tools.ts';
import { KubeClient } from '../../operator/kube/rest.ts';
import { ensureNamespace } from './namespace.ts';
import { requestNodeCredentials } from './node-credentials.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Tier = 'sandbox' | 'real' | 'external';

export interface TestClusterOptions extends SandboxOptions {
  /** Something binds pending pods: kube-scheduler, or the sandbox's scheduler. */
  scheduler?: boolean;
  /**
   * Extra kube-apiserver flags (`--flag=value`) for the real tier's control plane, for a
   * file that needs a server setting the sandbox has (or that kube has off by default);
   * say why where it is used. Ignored on the sandbox and on an existing cluster.
   */
  apiServerFlags?: string[];
}

export interface TestCluster {
  tier: Tier;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** Runs real kubectl against the cluster. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Starts a long-running kubectl (get --watch); the caller kills it. */
  kubectlSpawn(args: string[]): ChildProcessWithoutNullStreams;
  /**
   * Credentials of the kubelet of `node` (system:node:NODE in system:nodes), as a real
   * kubelet has them: a client certificate on real clusters, a node token on the sandbox.
   */
  nodeKubeConfig(node: string): Promise<KubeConfig>;
  /** The server's version as /version reports it (major, minor as numbers). */
  serverVersion(): Promise<{ major: number; minor: number; gitVersion: string }>;
  /** Present when the cluster is the local sandbox. */
  sandbox?: Sandbox;
  /** Present when this test file started a real control plane. */
  controlPlane?: ControlPlane;
  stop(): Promise<void>;
}

/** Which tier startTestCluster() will give, from the environment alone. */
export function testTier(env: NodeJS.ProcessEnv = process.env): Tier {
  if (env.TRUSTGATE_TEST_KUBECONFIG) return 'external';
  return env.KUBEBUILDER_ASSETS ? 'real' : 'sandbox';
}

function loadKubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  const { kubectl: kubectlPath } = await ensureTools();
  const tier = testTier();
  let sandbox: Sandbox | undefined;
  let controlPlane: ControlPlane | undefined;
  let scheduler: Scheduler | undefined;
  let kubeconfigPath: string;
  if (tier === 'external') {
    kubeconfigPath = process.env.TRUSTGATE_TEST_KUBECONFIG as string;
  } else if (tier === 'real') {
    controlPlane = await startControlPlane({
      assets: process.env.KUBEBUILDER_ASSETS as string,
      controllerManager: true,
      scheduler: opts.scheduler,
      apiServerFlags: opts.apiServerFlags,
    });
    kubeconfigPath = controlPlane.adminKubeconfigPath;
  } else {
    sandbox = await startSandbox(opts);
    kubeconfigPath = sandbox.kubeconfigPath;
  }
  const kubeConfig = loadKubeConfig(kubeconfigPath);
  // A discovery cache of its own: a new cluster may reuse a port with other resources.
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'trustgate-kubectl-cache-'));
  const baseArgs = ['--kubeconfig', kubeconfigPath, '--cache-dir', cacheDir];
  const children = new Set<ChildProcessWithoutNullStreams>();

  const nodeKubeConfig = async (node: string): Promise<KubeConfig> => {
    if (sandbox) {
      const { url, caPem } = sandbox;
      return kubeConfigFor({ url, caPem, token: sandbox.nodeToken(node), user: `node-${node}` });
    }
    if (controlPlane) return loadKubeConfig(await controlPlane.nodeKubeconfig(node));
    return requestNodeCredentials(kubeConfig, node);
  };

  if (sandbox && opts.scheduler) {
    const { url, caPem } = sandbox;
    const kc = kubeConfigFor({
      url,
      caPem,
      token: sandbox.tokens.schedulerToken,
      user: 'scheduler',
    });
    scheduler = startScheduler({ kubeConfig: kc });
  }

  const kubectlSpawn = (args: string[]) => {
    const child = spawn(kubectlPath, [...baseArgs, ...args], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
    });
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };

  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) =>
    new Promise<KubectlResult>((resolve, reject) => {
      const child = kubectlSpawn(args);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(o.input ?? '');
    });

  const serverVersion = async () => {
    const r = await kubectl(['version', '-o', 'json']);
    const v = (JSON.parse(r.stdout) as { serverVersion: Record<string, string> }).serverVersion;
    return {
      major: Number.parseInt(v.major ?? '0', 10),
      minor: Number.parseInt(v.minor ?? '0', 10),
      gitVersion: v.gitVersion ?? '',
    };
  };

  return {
    tier,
    kubeconfigPath,
    kubeConfig,
    kubectl,
    kubectlSpawn,
    nodeKubeConfig,
    serverVersion,
    ...(sandbox ? { sandbox } : {}),
    ...(controlPlane ? { controlPlane } : {}),
    async stop() {
      for (const child of children) child.kill('SIGKILL');
      await scheduler?.stop();
      await sandbox?.stop();
      await controlPlane?.stop();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates namespace `name` (if missing) and waits for its "default" ServiceAccount
 * (namespace.ts says why). A test that creates pods in a new namespace starts with this.
 */
export async function createNamespace(
  cluster: Pick<TestCluster, 'kubeConfig'>,
  name: string,
  labels?: Record<string, string>,
  timeoutMs = 30_000,
): Promise<void> {
  const client = new KubeClient(cluster.kubeConfig);
  try {
    await ensureNamespace(client, name, labels, timeoutMs);
  } finally {
    client.close();
  }
}

/** The CA an external kubeconfig trusts (for tests that build their own clients). */
export async function clusterCaPem(kc: KubeConfig): Promise<string | undefined> {
  const c = kc.getCurrentCluster();
  if (c?.caData) return Buffer.from(c.caData, 'base64').toString();
  return c?.caFile ? readFile(c.caFile, 'utf8') : undefined;
}
