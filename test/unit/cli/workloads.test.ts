// `trustgate evaluate -f` and `trustgate test`: the webhook's verdicts offline, on the demo's
// manifests (hack/examples/demo/) and on workloads, exemptions and mismatching tables.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, type JWK } from 'jose';
import yaml from 'js-yaml';
import { DEMO_IAT, DEMO_NOW, demoAdmissionFiles } from '../../../hack/examples/demo-admission.ts';
import { signDemoAttestation } from '../../../hack/examples/generate.ts';
import { runCaptured } from '../../../operator/cli/main.ts';

const DEMO = path.resolve('hack/examples/demo');
const demo = (f: string) => path.join(DEMO, f);
const RESOURCES = ['setup.yaml', 'nodes.yaml', 'attestations.yaml', 'pods.yaml'].flatMap((f) => [
  '-f',
  demo(f),
]);
let dir: string;

const cli = (...argv: string[]) => runCaptured(argv);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tg-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trustgate evaluate -f on the demo manifests', () => {
  it("reproduces the demo's three admission outcomes, exit 1 for the denials", async () => {
    const r = await cli('evaluate', ...RESOURCES, '--now', DEMO_NOW);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        'ALLOWED Pod ci/runner-a (node runner-1)',
        'DENIED  Pod ci/runner-b (node runner-2)',
        '  node runner-2: posture diskEncryption is false; policy ci-runners requires Equals "true"',
        'DENIED  Pod ci/intruder (node runner-1)',
        '  pod ci/intruder (service account intruder): no WorkloadGrant names the service account; policy ci-runners requires an active grant',
        '',
      ].join('\n'),
    );
  });

  it('prints one JSON object per pod with -o json', async () => {
    const r = await cli('evaluate', ...RESOURCES, '--now', DEMO_NOW, '-o', 'json');
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.name, l.node, l.allowed, l.reasons])).toEqual([
      ['runner-a', 'runner-1', true, []],
      ['runner-b', 'runner-2', false, ['PostureRequirementFailed']],
      ['intruder', 'runner-1', false, ['GrantMissing']],
    ]);
  });

  it('judges the attestations at --now: ten minutes later they are stale', async () => {
    const r = await cli('evaluate', ...RESOURCES, '--now', '2026-01-01T00:10:00Z', '-o', 'json');
    const runnerA = JSON.parse(r.stdout.split('\n')[0] as string);
    expect(runnerA).toMatchObject({ name: 'runner-a', allowed: false, reasons: ['Stale'] });
  });
});

describe('trustgate evaluate -f on workloads and exemptions', () => {
  const write = async (name: string, ...docs: object[]) => {
    await writeFile(path.join(dir, name), docs.map((d) => yaml.dump(d)).join('---\n'));
    return path.join(dir, name);
  };
  const template = (serviceAccountName: string, nodeName?: string) => ({
    metadata: { labels: { app: 'runner' } },
    spec: { serviceAccountName, ...(nodeName ? { nodeName } : {}), containers: [] },
  });

  it('derives the pod of each workload kind and names the node or "unscheduled"', async () => {
    const workloads = await write(
      'workloads.yaml',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'runners', namespace: 'ci' },
        spec: { template: template('ci-runner') },
      },
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'nightly', namespace: 'ci' },
        spec: { jobTemplate: { spec: { template: template('nightly', 'runner-1') } } },
      },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ignored', namespace: 'ci' } },
    );
    const r = await cli('evaluate', '-f', demo('setup.yaml'), '-f', workloads, '--now', DEMO_NOW);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ALLOWED Deployment ci/runners (node unscheduled)');
    expect(r.stdout).toContain('DENIED  CronJob ci/nightly (node runner-1)');
    expect(r.stdout).toContain('service account nightly): no WorkloadGrant names');
  });

  it('lets a live TrustExemption through, logged as a warning, and not an expired one', async () => {
    const exemption = (expiresAt: string) =>
      write('exemption.yaml', {
        apiVersion: 'trustgate.dev/v1alpha1',
        kind: 'TrustExemption',
        metadata: { name: 'inc-1', namespace: 'ci' },
        spec: { nodeNames: ['runner-2'], expiresAt, reason: 'INC-1 disk encryption rollout' },
      });
    const args = [...RESOURCES, '-f', path.join(dir, 'exemption.yaml'), '--now', DEMO_NOW];
    await exemption('2026-01-01T06:00:00Z');
    const live = await cli('evaluate', ...args);
    expect(live.stdout).toContain('ALLOWED Pod ci/runner-b (node runner-2)');
    expect(live.stdout).toContain(
      'warning: trustgate: policy ci-runners lifted by exemption ci/inc-1 until 2026-01-01T06:00:00.000Z: INC-1 disk encryption rollout',
    );
    await exemption('2026-01-01T00:00:30Z');
    expect((await cli('evaluate', ...args)).stdout).toContain('DENIED  Pod ci/runner-b');
  });

  it('exits 2 on a manifest that is not valid', async () => {
    const bad = await write('bad.yaml', {
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'TrustExemption',
      metadata: { name: 'x', namespace: 'ci' },
      spec: { reason: 'no expiry' },
    });
    const r = await cli('evaluate', ...RESOURCES, '-f', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('spec.expiresAt');
  });
});

describe('trustgate test', () => {
  it('passes the demo table', async () => {
    const r = await cli('test', '-f', demo('tests.yaml'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('3 passed, 0 failed');
  });

  it('fails with a readable diff on a wrong verdict, a wrong reason and an unknown pod', async () => {
    const table = yaml.load(await readFile(demo('tests.yaml'), 'utf8')) as {
      resources: string[];
      results: object[];
    };
    table.resources = table.resources.map((f) => demo(f));
    table.results = [
      { namespace: 'ci', name: 'runner-a', result: 'denied' },
      { namespace: 'ci', name: 'runner-b', result: 'denied', reason: 'secureBoot' },
      { namespace: 'ci', name: 'runner-z', result: 'allowed' },
    ];
    const file = path.join(dir, 'tests.yaml');
    await writeFile(file, yaml.dump(table));
    const r = await cli('test', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  FAIL Pod ci/runner-a: denied\n    expected denied, got allowed');
    expect(r.stdout).toContain(
      '  FAIL Pod ci/runner-b: denied\n    expected a reason containing\n      "secureBoot"\n    got\n      "node runner-2: posture diskEncryption is false',
    );
    expect(r.stdout).toContain(
      '  FAIL Pod ci/runner-z: allowed\n    no such pod or workload among the resources',
    );
    expect(r.stdout).toContain('0 passed, 3 failed');
  });
});

describe('hack/examples/demo', () => {
  it('is what hack/examples/generate.ts writes (tokens compared by their claims)', async () => {
    const priv = JSON.parse(
      await readFile(path.resolve('hack/examples/keys/demo-verifier.private.jwk.json'), 'utf8'),
    ) as JWK;
    const { d: _d, ...pub } = priv;
    const iat = Date.parse(DEMO_IAT) / 1000;
    const files = await demoAdmissionFiles({ keys: [pub] }, (node, posture) =>
      signDemoAttestation(priv, node, posture, iat),
    );
    // ES256 signatures differ per signing; the claims must not.
    const claims = (text: string) =>
      yaml.loadAll(text).map((d) => {
        const doc = d as { spec?: { token?: string } };
        return doc?.spec?.token ? { ...doc, spec: { token: decodeJwt(doc.spec.token) } } : doc;
      });
    expect((await readdir(DEMO)).sort()).toEqual(Object.keys(files).sort());
    for (const [name, text] of Object.entries(files)) {
      expect(claims(await readFile(demo(name), 'utf8'))).toEqual(claims(text));
    }
  });
});
