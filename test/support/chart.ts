// The Helm chart rendered by the real helm binary, outside Jest too (the benchmarks start
// trustgate with the arguments the chart's Deployment passes).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { ensureTools } from '../../hack/tools.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = path.join(ROOT, 'charts', 'trustgate');
export const RELEASE = 'tg';
export const NAMESPACE = 'trustgate-system';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function helm(args: string[]): Promise<CommandResult> {
  const tools = await ensureTools();
  return new Promise((resolve) => {
    execFile(tools.helm, args, { maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are inspected field by field
  [field: string]: any;
}

/** helm's `--set key=value` arguments for `sets`. */
export const setArgs = (sets: Record<string, string | number | boolean> = {}): string[] =>
  Object.entries(sets).flatMap(([key, value]) => ['--set', `${key}=${value}`]);

/** `helm template` with `--set` overrides; throws with helm's message when it fails. */
export async function renderChart(
  sets: Record<string, string | number | boolean> = {},
  extraArgs: string[] = [],
): Promise<{ text: string; objects: KubeObject[] }> {
  const result = await helm([
    'template',
    RELEASE,
    CHART_DIR,
    '--namespace',
    NAMESPACE,
    ...setArgs(sets),
    ...extraArgs,
  ]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  const objects = yaml
    .loadAll(result.stdout)
    .filter((doc): doc is KubeObject => typeof doc === 'object' && doc !== null);
  return { text: result.stdout, objects };
}

export function only(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as KubeObject;
}

/** The arguments the chart's Deployment passes to `trustgate run` (after `run`). */
export async function chartRunArgs(
  sets: Record<string, string | number | boolean> = {},
): Promise<string[]> {
  const { objects } = await renderChart(sets);
  const [container] = only(objects, 'Deployment').spec.template.spec.containers;
  const args = container.args as string[];
  if (args[0] !== 'run') throw new Error(`the chart runs "${args[0]}", not "run"`);
  return args.slice(1);
}
