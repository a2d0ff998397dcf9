// `trustgate test -f TESTS.yaml`: a table of expected admission outcomes, as `kyverno test`
// runs them, for a GitOps repository's CI. The outcomes come from the same offline decision
// as `trustgate evaluate -f` (the webhook's admit()); any mismatch fails the run.
import path from 'node:path';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';
import { decidePods, loadInputs, type PodResult, parseNow } from '../offline-admission.ts';
import { readDocuments } from '../read-input.ts';

const USAGE = `Usage: trustgate test -f TESTS.yaml [-f TESTS.yaml...] [--now T]

Runs each test file: loads its resources (paths relative to the file, as for
trustgate evaluate -f) and compares what the webhook would decide with its results.

  apiVersion: trustgate.dev/v1alpha1
  kind: Test
  metadata: { name: ci-runners }
  resources: [policies/, grants.yaml, nodes/, workloads/]
  now: "2026-01-01T00:01:00Z"     # optional; --now overrides, default the clock
  trustgateNamespace: trustgate-system   # optional
  results:
    - { kind: Deployment, namespace: ci, name: runner, result: allowed }
    - { kind: Pod, namespace: ci, name: intruder, result: denied,
        reason: "no WorkloadGrant names the service account" }   # substring

kind defaults to Pod, namespace to default. Prints PASS or FAIL per result, with what
was expected and what the webhook would answer.
Exit status: 0 every result as expected, 1 some mismatch, 2 usage or input error.`;

const OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  now: { type: 'string' },
} as const;

interface Expected {
  kind: string;
  namespace: string;
  name: string;
  result: 'allowed' | 'denied';
  reason?: string;
}

interface TestFile {
  name: string;
  resources: string[];
  now?: string;
  trustgateNamespace: string;
  results: Expected[];
}

type Obj = Record<string, unknown>;

function readTest(file: string, doc: unknown): TestFile {
  const bad = (what: string) => new UsageError(`${file}: ${what}`);
  const o = doc as Obj;
  if (o?.kind !== 'Test') throw bad('expected kind: Test');
  const resources = o.resources;
  if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string'))
    throw bad('resources must be a list of paths');
  if (!Array.isArray(o.results) || o.results.length === 0) throw bad('results must be a list');
  const results = o.results.map((r: Obj, i: number): Expected => {
    if (r?.result !== 'allowed' && r?.result !== 'denied')
      throw bad(`results[${i}].result must be allowed or denied`);
    if (typeof r.name !== 'string') throw bad(`results[${i}].name is required`);
    return {
      kind: typeof r.kind === 'string' ? r.kind : 'Pod',
      namespace: typeof r.namespace === 'string' ? r.namespace : 'default',
      name: r.name,
      result: r.result,
      ...(typeof r.reason === 'string' ? { reason: r.reason } : {}),
    };
  });
  const meta = (o.metadata ?? {}) as Obj;
  const dir = path.dirname(file);
  return {
    name: typeof meta.name === 'string' ? meta.name : path.basename(file),
    resources: (resources as string[]).map((r) => path.resolve(dir, r)),
    now: typeof o.now === 'string' ? o.now : undefined,
    trustgateNamespace:
      typeof o.trustgateNamespace === 'string' ? o.trustgateNamespace : 'trustgate-system',
    results,
  };
}

/** Why the actual outcome is not the expected one; undefined when it is. */
export function mismatch(want: Expected, got: PodResult | undefined): string | undefined {
  if (!got) return 'no such pod or workload among the resources';
  const verdict = got.allowed ? 'allowed' : 'denied';
  const said = got.message ?? (got.warnings.join('; ') || '(no message)');
  if (verdict !== want.result) return `expected ${want.result}, got ${verdict}: ${said}`;
  if (want.reason && !said.includes(want.reason)) {
    return `expected a reason containing\n      ${JSON.stringify(want.reason)}\n    got\n      ${JSON.stringify(said)}`;
  }
  return undefined;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(args, OPTIONS, USAGE);
  if (!values.filename?.length) throw new UsageError(`no test file: give -f\n\n${USAGE}`);
  let failed = 0;
  let passed = 0;
  for (const file of values.filename) {
    for (const doc of await readDocuments(file)) {
      const test = readTest(file, doc);
      const results = await decidePods(await loadInputs(test.resources), {
        now: parseNow(values.now ?? test.now),
        trustgateNamespace: test.trustgateNamespace,
      });
      io.stdout(`test ${test.name} (${file})\n`);
      for (const want of test.results) {
        const got = results.find(
          (r) => r.kind === want.kind && r.namespace === want.namespace && r.name === want.name,
        );
        const problem = mismatch(want, got);
        const id = `${want.kind} ${want.namespace}/${want.name}: ${want.result}`;
        if (problem) failed++;
        else passed++;
        io.stdout(problem ? `  FAIL ${id}\n    ${problem}\n` : `  PASS ${id}\n`);
      }
    }
  }
  io.stdout(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}

export const command: Command = { usage: USAGE, run };
