// `npm run demo [-- --keep] [--real]`: trustgate on the embedded local control plane (or,
// with --real, on a real kube-apiserver from envtest binaries), step by step.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { consoleNarrator, DemoFailure } from './narrator.ts';
import { type DemoEnvironment, startEnvironment, tellStory } from './story.ts';

const keep = process.argv.includes('--keep');
const real = process.argv.includes('--real');
const say = consoleNarrator();
const dir = await mkdtemp(path.join(os.tmpdir(), 'trustgate-demo-'));
let env: DemoEnvironment | undefined;
let exitCode = 0;
try {
  env = await startEnvironment(dir, say, { real });
  await tellStory(env, say);
  say.step('Explore');
  say.say(`export KUBECONFIG=${env.cluster.kubeconfigPath}`);
  say.say(`metrics:  ${env.metricsUrl}`);
  say.say('kubectl get endpointtrustpolicies,nodeattestations,workloadgrants -A');
  say.say('kubectl get nodeattestation runner-2 -o yaml   # why runner-2 is not trusted');
  say.say(
    `kubectl get events -A                          # what trustgate did (log: ${env.operator.logFile})`,
  );
  if (keep) {
    say.say('running until Ctrl-C (the control plane belongs to this process)');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
} catch (err) {
  exitCode = 1;
  const why =
    err instanceof DemoFailure ? err.message : err instanceof Error ? err.stack : String(err);
  process.stderr.write(`\ndemo failed: ${why}\nlogs and files: ${dir}\n`);
} finally {
  await env?.operator.stop();
  await Promise.all(env?.kubelets.map((k) => k.stop()) ?? []);
  await env?.cluster.stop();
}
process.exit(exitCode);
