// The cluster a test talks to: a real one when TRUSTGATE_TEST_KUBECONFIG (or KUBECONFIG)
// is set, otherwise trustgate's local control plane (hack/sandbox) on a free port. Tests
// written against this helper run unchanged on both, which keeps the sandbox honest.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../hack/sandbox/index.ts';
import { ensureTools } from '../../hack/tools.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestCluster {
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  /** Runs real kubectl against the cluster. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Starts a long-running kubectl (get --watch); the caller kills it. */
  kubectlSpawn(args: string[]): ChildProcessWithoutNullStreams;
  /** Present when the cluster is the local sandbox. */
  sandbox?: Sandbox;
  stop(): Promise<void>;
}

export async function startTestCluster(opts: SandboxOptions = {}): Promise<TestCluster> {
  const { kubectl: kubectlPath } = await ensureTools();
  const external = process.env.TRUSTGATE_TEST_KUBECONFIG || process.env.KUBECONFIG;
  const sandbox = external ? undefined : await startSandbox(opts);
  const kubeconfigPath = external ?? (sandbox as Sandbox).kubeconfigPath;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  // A discovery cache of its own: a new sandbox may reuse a port with other resources.
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'trustgate-kubectl-cache-'));
  const baseArgs = ['--kubeconfig', kubeconfigPath, '--cache-dir', cacheDir];
  const children = new Set<ChildProcessWithoutNullStreams>();

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

  return {
    kubeconfigPath,
    kubeConfig,
    kubectl,
    kubectlSpawn,
    ...(sandbox ? { sandbox } : {}),
    async stop() {
      for (const child of children) child.kill('SIGKILL');
      await sandbox?.stop();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}
