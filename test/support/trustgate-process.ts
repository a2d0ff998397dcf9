// `trustgate run` as the image runs it: a child process `node <the Dockerfile's Node flags>
// bin/trustgate.js run …` against a kubeconfig, on loopback ports. Tests and benchmarks
// start trustgate only this way (or in-process through startRuntime), so what they test
// and measure is what ships. stop() ends the process whatever state it is in and removes
// the Lease, TLS Secret and webhook configuration it may have left, so nothing it wrote
// acts on a later run.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../hack/free-port.ts';
import { loadClusterAccess } from '../../operator/kube/kubeconfig.ts';
import { isNotFound, KubeClient } from '../../operator/kube/rest.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TRUSTGATE_BIN = path.join(ROOT, 'bin', 'trustgate.js');

/** The Node flags of the image's ENTRYPOINT (Dockerfile), e.g. --max-semi-space-size=8. */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const line = dockerfile.match(/^ENTRYPOINT\s+(\[.*\])\s*$/m)?.[1];
  if (!line) throw new Error('Dockerfile: no ENTRYPOINT in exec form');
  const argv = JSON.parse(line) as string[];
  return argv.slice(1, argv.indexOf('bin/trustgate.js'));
}

/** Fills Node's compile cache as the image build does (Dockerfile), so a start is warm. */
export async function warmCompileCache(): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [...imageNodeFlags(), TRUSTGATE_BIN, 'run', '--help'],
    {
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
}

export { freePort };

export interface TrustgateProcessOptions {
  kubeconfigPath: string;
  namespace: string;
  /** Service, Lease (NAME-leader), TLS Secret and webhook configuration are named after it. */
  name: string;
  /** More `run` flags (the chart's, say); the ones set here for loopback come after them. */
  args?: string[];
  /** POD_NAME: the start of the Lease holder identity. */
  podName?: string;
  env?: NodeJS.ProcessEnv;
  /** Echo the process's output (logs) to this process's stderr. */
  echo?: boolean;
  /** The webhook port (default: a free one). */
  webhookPort?: number;
  /** The URL the API server is told to call (default: the webhook port on 127.0.0.1). */
  webhookUrl?: string;
  /** The webhook configuration's name (default: `name`). */
  webhookConfigName?: string;
}

export interface TrustgateProcess {
  child: ChildProcess;
  /** The Secret its self-managed serving certificate lives in. */
  tlsSecret: string;
  webhookUrl: string;
  webhookPort: number;
  metricsPort: number;
  /** What the process wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** GET a path of the metrics/health port. */
  get(path: string): Promise<Response>;
  metrics(): Promise<string>;
  /** Resolves when /readyz answers 200; rejects if the process exits first. */
  ready(timeoutMs?: number): Promise<void>;
  /** Resident set size now and its peak so far (VmRSS, VmHWM from /proc), in bytes. */
  memory(): Promise<{ rssBytes: number; peakBytes: number }>;
  exited(): Promise<number | null>;
  /** SIGTERM (SIGKILL after 15 s), then removes what the process wrote. */
  stop(): Promise<void>;
}

export async function startTrustgateProcess(o: TrustgateProcessOptions): Promise<TrustgateProcess> {
  const [webhookPort, metricsPort] = [o.webhookPort ?? (await freePort()), await freePort()];
  const webhookUrl = o.webhookUrl ?? `https://127.0.0.1:${webhookPort}/validate`;
  const tlsSecret = `${o.name}-webhook-tls`;
  const child = spawn(
    process.execPath,
    [
      ...imageNodeFlags(),
      // Where to write a V8 CPU profile of the child, for looking into a bench's figures.
      ...(process.env.TRUSTGATE_CPU_PROF_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TRUSTGATE_CPU_PROF_DIR}`]
        : []),
      TRUSTGATE_BIN,
      'run',
      ...(o.args ?? []),
      `--kubeconfig=${o.kubeconfigPath}`,
      `--namespace=${o.namespace}`,
      '--bind-address=127.0.0.1',
      `--webhook-port=${webhookPort}`,
      `--metrics-port=${metricsPort}`,
      `--webhook-url=${webhookUrl}`,
      `--service-name=${o.name}`,
      `--webhook-config-name=${o.webhookConfigName ?? o.name}`,
      `--lease-name=${o.name}-leader`,
      `--tls-secret=${tlsSecret}`,
    ],
    {
      // The parent's NODE_OPTIONS (Jest's VM-modules flag) is not the image's.
      env: { ...process.env, NODE_OPTIONS: '', POD_NAME: o.podName ?? o.name, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-64_000);
    if (o.echo) process.stderr.write(d);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // If this process ends first (an interrupted bench, a crashed test), the child goes too.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.off('exit', killChild);
      resolve(code);
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const get = (p: string) => fetch(`http://127.0.0.1:${metricsPort}${p}`);

  return {
    child,
    tlsSecret,
    webhookUrl,
    webhookPort,
    metricsPort,
    output: () => output,
    get,
    metrics: async () => (await get('/metrics')).text(),
    async ready(timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        if (!running()) throw new Error(`trustgate run exited (${child.exitCode}):\n${output}`);
        if ((await get('/readyz').catch(() => undefined))?.status === 200) return;
        if (Date.now() > end)
          throw new Error(`trustgate run not ready in ${timeoutMs} ms:\n${output.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = (field: string) =>
        Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1]) * 1024;
      return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
    },
    exited: () => exit,
    async stop() {
      if (running()) {
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.kill('SIGTERM');
        await exit;
        clearTimeout(killer);
      }
      await removeWrittenObjects(o);
    },
  };
}

/** The Lease, TLS Secret and webhook configuration a process named `name` may have written. */
async function removeWrittenObjects(o: TrustgateProcessOptions): Promise<void> {
  const client = new KubeClient(await loadClusterAccess(o.kubeconfigPath));
  const paths = [
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${o.webhookConfigName ?? o.name}`,
    `/apis/coordination.k8s.io/v1/namespaces/${o.namespace}/leases/${o.name}-leader`,
    `/api/v1/namespaces/${o.namespace}/secrets/${o.name}-webhook-tls`,
  ];
  try {
    for (const p of paths) {
      await client.delete(p).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    }
  } finally {
    client.close();
  }
}
