// Real kubectl (1.35) against the cluster: apply the CRDs and examples, get (tables with
// printer columns), get -o yaml, the three patch types, create token, get --watch,
// delete. Runs against the sandbox or a real cluster.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { uniqueName } from './support.ts';

let cluster: TestCluster;
const ns = uniqueName('kubectl');
const k = (...args: string[]) => cluster.kubectl(args);

beforeAll(async () => {
  cluster = await startTestCluster();
  expect((await k('create', 'namespace', ns)).code).toBe(0);
}, 30_000);

afterAll(async () => {
  await cluster?.kubectl(['delete', 'namespace', ns, '--wait=false']);
  await cluster?.stop();
});

describe('kubectl', () => {
  it('applies the CRDs, waits for them to be established, and re-applies as unchanged', async () => {
    const applied = await k('apply', '-f', 'crds/');
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(
      /customresourcedefinition.apiextensions.k8s.io\/workloadgrants.trustgate.dev (created|configured|unchanged)/,
    );
    const waited = await k(
      'wait',
      '--for',
      'condition=established',
      '--timeout=20s',
      '-f',
      'crds/',
    );
    expect(waited.code).toBe(0);
    const again = await k('apply', '-f', 'crds/');
    expect(again.stdout).toContain('workloadgrants.trustgate.dev unchanged');
  }, 40_000);

  it('applies the example resources and prints their printer columns', async () => {
    for (const file of [
      '00-namespace-ci.yaml',
      'policy-ci-runners.yaml',
      'attestation-runner-1.yaml',
      'grant-ci-runner.yaml',
    ]) {
      const r = await k('apply', '-f', `hack/examples/${file}`);
      expect(r.stderr).toBe('');
    }
    const policies = await k('get', 'endpointtrustpolicies');
    expect(policies.stdout.split('\n')[0]).toMatch(/^NAME\s+MODE\b/);
    expect(policies.stdout).toContain('ci-runners');
    const grants = await k('get', 'wg', '-n', 'ci');
    expect(grants.stdout.split('\n')[0]).toMatch(/^NAME\s+SERVICE-ACCOUNT\b/);
    const shown = await k('get', 'wg', 'ci-runner', '-n', 'ci', '-o', 'yaml');
    const obj = yaml.load(shown.stdout) as {
      kind: string;
      spec: { serviceAccountName: string };
      metadata: { annotations: Record<string, string> };
    };
    expect(obj.kind).toBe('WorkloadGrant');
    expect(obj.spec.serviceAccountName).toBe('ci-runner');
    expect(
      obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'],
    ).toBeDefined();
  }, 40_000);

  it('rejects a schema-invalid resource with the server field error', async () => {
    const bad = yaml.dump({
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'WorkloadGrant',
      metadata: { name: 'bad', namespace: ns },
      spec: { serviceAccountName: 'x', policyRef: { name: 'p' }, unknownField: 1 },
    });
    const r = await cluster.kubectl(['apply', '-f', '-'], { input: bad });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.unknownField"');
  });

  it('patches with merge, json and strategic patches', async () => {
    expect((await k('create', 'configmap', 'pc', '-n', ns, '--from-literal=a=1')).code).toBe(0);
    expect(
      (await k('patch', 'configmap', 'pc', '-n', ns, '--type=merge', '-p', '{"data":{"b":"2"}}'))
        .stdout,
    ).toContain('patched');
    expect(
      (
        await k(
          'patch',
          'configmap',
          'pc',
          '-n',
          ns,
          '--type=json',
          '-p',
          '[{"op":"remove","path":"/data/a"}]',
        )
      ).stdout,
    ).toContain('patched');
    expect(
      (await k('patch', 'configmap', 'pc', '-n', ns, '-p', '{"metadata":{"labels":{"s":"t"}}}'))
        .stdout,
    ).toContain('patched');
    const got = await k('get', 'configmap', 'pc', '-n', ns, '-o', 'json');
    const cm = JSON.parse(got.stdout) as {
      data: Record<string, string>;
      metadata: { labels: Record<string, string> };
    };
    expect(cm.data).toEqual({ b: '2' });
    expect(cm.metadata.labels).toEqual({ s: 't' });
    const noop = await k(
      'patch',
      'configmap',
      'pc',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"data":{"b":"2"}}',
    );
    expect(noop.stdout).toContain('no change');
  });

  it('creates a service-account token', async () => {
    expect((await k('create', 'serviceaccount', 'bot', '-n', ns)).code).toBe(0);
    const r = await k('create', 'token', 'bot', '-n', ns, '--duration=1h');
    expect(r.stderr).toBe('');
    const [, payload] = r.stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as {
      sub: string;
      exp: number;
      iat: number;
    };
    expect(claims.sub).toBe(`system:serviceaccount:${ns}:bot`);
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it('streams changes with get --watch', async () => {
    const child = cluster.kubectlSpawn([
      'get',
      'configmaps',
      '-n',
      ns,
      '--watch',
      '--output-watch-events',
    ]);
    let out = '';
    const seen = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('DELETED')) resolve();
      });
    });
    try {
      // Wait until the watch has listed what exists, then change something.
      await new Promise<void>((resolve) => {
        const check = () => (out.includes('kube-root-ca.crt') ? resolve() : setTimeout(check, 20));
        check();
      });
      await k('create', 'configmap', 'watched', '-n', ns);
      await k('delete', 'configmap', 'watched', '-n', ns);
      await seen;
      expect(out).toMatch(/ADDED\s+watched\b/);
      expect(out).toMatch(/DELETED\s+watched\b/);
    } finally {
      child.kill();
    }
  }, 30_000);

  it('creates a namespace (kubectl sends it as protobuf)', async () => {
    const name = uniqueName('kubectl-ns');
    try {
      const r = await k('create', 'namespace', name);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(`namespace/${name} created`);
      expect((await k('get', 'namespace', name, '-o', 'jsonpath={.status.phase}')).stdout).toBe(
        'Active',
      );
    } finally {
      await k('delete', 'namespace', name, '--wait=false');
    }
  });

  it('creates a TokenReview from a file, validation on', async () => {
    const review = yaml.dump({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: 'not-a-token' },
    });
    const r = await cluster.kubectl(['create', '-f', '-', '-o', 'json'], { input: review });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { kind: string; status?: { authenticated?: boolean } };
    expect(out.kind).toBe('TokenReview');
    expect(out.status?.authenticated ?? false).toBe(false);
  });

  it("keeps events in their object's namespace and prints them with kube's columns", async () => {
    // An event about a cluster-scoped object (a Node) lives in "default", as kube requires.
    const name = uniqueName('n1.drift');
    const event = (namespace: string) =>
      yaml.dump({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Node', name: 'n1' },
        reason: 'TrustLost',
        message: 'node n1 drifted',
        type: 'Warning',
        count: 3,
        firstTimestamp: new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        lastTimestamp: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        source: { component: 'trustgate' },
      });
    const misplaced = await cluster.kubectl(['create', '-f', '-'], { input: event(ns) });
    expect(misplaced.code).not.toBe(0);
    expect(misplaced.stderr).toContain(
      'involvedObject.namespace: Invalid value: "": does not match event.namespace',
    );
    const created = await cluster.kubectl(['create', '-f', '-'], { input: event('default') });
    expect(created.stderr).toBe('');
    try {
      const only = ['-n', 'default', '--field-selector', `metadata.name=${name}`];
      const r = await k('get', 'events', ...only);
      const [head, row] = r.stdout.trim().split('\n');
      expect(head?.trim().split(/\s{2,}/)).toEqual([
        'LAST SEEN',
        'TYPE',
        'REASON',
        'OBJECT',
        'MESSAGE',
      ]);
      expect(row).toMatch(/^\d+s\s+Warning\s+TrustLost\s+node\/n1\s+node n1 drifted$/);
      const wide = await k('get', 'events', ...only, '-o', 'wide');
      const [wideHead, wideRow] = wide.stdout.trim().split('\n');
      expect(wideHead?.trim().split(/\s{2,}/)).toEqual([
        'LAST SEEN',
        'TYPE',
        'REASON',
        'OBJECT',
        'SUBOBJECT',
        'SOURCE',
        'MESSAGE',
        'FIRST SEEN',
        'COUNT',
        'NAME',
      ]);
      expect(wideRow).toMatch(/\s+node n1 drifted\s+10m\s+3\s+\S+$/);
    } finally {
      await k('delete', 'event', name, '-n', 'default');
    }
  });

  it('deletes, and reports NotFound for what is gone', async () => {
    expect((await k('delete', 'configmap', 'pc', '-n', ns)).stdout).toContain('deleted');
    const gone = await k('get', 'configmap', 'pc', '-n', ns);
    expect(gone.stderr).toContain('configmaps "pc" not found');
  });
});
