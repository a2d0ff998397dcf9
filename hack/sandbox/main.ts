// `npm run sandbox -- [flags]` (node hack/sandbox/main.ts): runs the local control plane
// until SIGINT/SIGTERM, printing the kubeconfig it wrote. Optional fake nodes (kubelets)
// and scheduler make it a small cluster for the demo. A developer tool, so it lives here
// and not in the product's CLI: the image leaves hack/ out.
import { fileURLToPath } from 'node:url';
import { type CliIO, EXIT, UsageError } from '../../operator/cli/io.ts';
import { kubeConfigFor } from './identity/client.ts';
import { startSandbox } from './index.ts';
import { startKubelet } from './kubelet.ts';
import { startScheduler } from './scheduler.ts';

const USAGE = `Usage: npm run sandbox -- [--port N] [--dir DIR] [--nodes N] [--scheduler]

Starts trustgate's local Kubernetes control plane (an HTTPS API server for kubectl and
client libraries; a developer tool, not a production cluster) and serves until
interrupted. Writes DIR/kubeconfig (DIR defaults to a fresh temporary directory).

  --port N       listen on 127.0.0.1:N (default: a free port)
  --dir DIR      where to write the kubeconfig
  --nodes N      register N fake nodes node-1..node-N, each with a kubelet
  --scheduler    bind pending pods to nodes (nodeSelector, taints and tolerations)`;

interface Flags {
  port: number;
  dir?: string;
  nodes: number;
  scheduler: boolean;
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = { port: 0, nodes: 0, scheduler: false };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = (args[i] as string).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value\n\n${USAGE}`);
      return v;
    };
    const integer = (v: string, max: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max)
        throw new UsageError(`${name}: "${v}" is not an integer from 0 to ${max}`);
      return n;
    };
    if (name === '--port') flags.port = integer(value(), 65535);
    else if (name === '--dir') flags.dir = value();
    else if (name === '--nodes') flags.nodes = integer(value(), 1000);
    else if (name === '--scheduler') flags.scheduler = true;
    else throw new UsageError(`unexpected argument "${args[i]}"\n\n${USAGE}`);
  }
  return flags;
}

/** Runs the sandbox until `until` resolves (tests) or a termination signal arrives. */
export async function runSandbox(
  args: string[],
  io: CliIO,
  until?: Promise<void>,
): Promise<number> {
  const flags = parseFlags(args);
  const sandbox = await startSandbox({
    port: flags.port,
    ...(flags.dir ? { dir: flags.dir } : {}),
  });
  const identity = (token: string, user: string) =>
    kubeConfigFor({ url: sandbox.url, caPem: sandbox.caPem, token, user });
  const stoppers: (() => Promise<void>)[] = [];
  try {
    if (flags.nodes > 0) {
      for (let n = 1; n <= flags.nodes; n++) {
        const nodeName = `node-${n}`;
        const kubelet = startKubelet({
          kubeConfig: identity(sandbox.nodeToken(nodeName), nodeName),
          nodeName,
          register: { labels: { 'kubernetes.io/hostname': nodeName } },
        });
        stoppers.push(() => kubelet.stop());
      }
    }
    if (flags.scheduler) {
      const scheduler = startScheduler({
        kubeConfig: identity(sandbox.tokens.schedulerToken, 'scheduler'),
      });
      stoppers.push(() => scheduler.stop());
    }
    io.stdout(
      `sandbox serving at ${sandbox.url}\nkubeconfig: ${sandbox.kubeconfigPath}\n\n  export KUBECONFIG=${sandbox.kubeconfigPath}\n  kubectl get namespaces\n\nPress Ctrl-C to stop.\n`,
    );
    await (until ??
      new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      }));
    return EXIT.ok;
  } finally {
    for (const stop of stoppers.reverse()) await stop();
    await sandbox.stop();
  }
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const io: CliIO = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  };
  try {
    return await runSandbox(args, io);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
