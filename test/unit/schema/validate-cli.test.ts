import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compactVerify, importJWK, type JWK } from 'jose';
import yaml from 'js-yaml';
import { main } from '../../../operator/cli/main.ts';

// biome-ignore lint/suspicious/noExplicitAny: the edits below reach deep into parsed YAML
type Yaml = Record<string, any>;

const EXAMPLES = path.resolve('hack/examples');
const KIND_OF: Record<string, string> = {
  'policy-ci-runners.yaml': 'EndpointTrustPolicy',
  'grant-ci-runner.yaml': 'WorkloadGrant',
  'attestation-runner-1.yaml': 'NodeAttestation',
};

async function run(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['validate', ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'trustgate-validate-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function example(name: string): Promise<Yaml> {
  return yaml.load(await readFile(path.join(EXAMPLES, name), 'utf8')) as Yaml;
}

/** Writes a broken variant of an example and returns its path. */
async function variant(name: string, edit: (doc: Yaml) => void): Promise<string> {
  const doc = await example(name);
  edit(doc);
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}-${name}`);
  await writeFile(file, yaml.dump(doc));
  return file;
}

describe('trustgate validate', () => {
  it('passes every example resource', async () => {
    const r = await run('-f', EXAMPLES);
    expect(r).toEqual({
      code: 0,
      stdout:
        'OK NodeAttestation/runner-1\nOK WorkloadGrant/ci-runner\nOK EndpointTrustPolicy/ci-runners\n',
      stderr: '',
    });
  });

  it('example attestation is signed by the demo key the example policy trusts', async () => {
    const policy = await example('policy-ci-runners.yaml');
    const att = await example('attestation-runner-1.yaml');
    const jwk = policy.spec.attestation.verifiers[0].jwks.keys[0] as JWK;
    const { payload } = await compactVerify(att.spec.token, await importJWK(jwk, 'ES256'));
    const claims = JSON.parse(new TextDecoder().decode(payload));
    expect(claims).toMatchObject({
      sub: 'runner-1',
      iss: policy.spec.attestation.verifiers[0].issuer,
    });
    expect(claims.posture).toEqual({
      diskEncryption: true,
      secureBoot: true,
      patchAgeDays: 3,
      edr: { healthy: true },
    });
    expect(policy.spec.attestation.maxAge).toBe('2m');
  });

  it('reports broken variants with FILE: kind/name: field: message and exit 1', async () => {
    const cases: [string, (d: Yaml) => void, string][] = [
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.maxAge = '10d';
        },
        `spec.attestation.maxAge: Invalid value: "10d": spec.attestation.maxAge in body should match`,
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.maxAge = '200h';
        },
        'spec.attestation.maxAge: Invalid value: "object": maxAge must be between 1s and 168h',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.verifiers[0].issuer = undefined;
        },
        'spec.attestation.verifiers[0].issuer: Required value',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.verifiers[0].jwksSecretRef = { name: 'keys' };
        },
        'spec.attestation.verifiers[0]: Invalid value: "object": set exactly one of jwks and jwksSecretRef',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.verifiers[0].jwks.keys[0].d = 'c2VjcmV0';
        },
        'spec.attestation.verifiers[0].jwks.keys[0]: Invalid value: {"kty":"EC","crv":"P-256","alg":"ES256","kid":"demo-verifier-1","use":"sig"}: is a private key',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.posture[2].values = ['fourteen'];
        },
        'spec.attestation.posture[2]: Invalid value: "object": LessThanOrEqual and GreaterThanOrEqual compare numbers',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.enforcement.mode = 'Block';
        },
        'spec.enforcement.mode: Unsupported value: "Block": supported values: "Enforce", "Audit"',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.verifiers[0].algorithms = ['ES256', 'ES256'];
        },
        'spec.attestation.verifiers[0].algorithms[1]: Duplicate value: "ES256"',
      ],
      [
        'policy-ci-runners.yaml',
        (d) => {
          d.spec.attestation.requireNonse = true;
        },
        'spec.attestation.requireNonse: unknown field "spec.attestation.requireNonse"',
      ],
      [
        'grant-ci-runner.yaml',
        (d) => {
          d.spec.maxExpirationSeconds = 60;
        },
        'spec.maxExpirationSeconds: Invalid value: 60: spec.maxExpirationSeconds in body should be greater than or equal to 600',
      ],
      [
        'grant-ci-runner.yaml',
        (d) => {
          d.spec.validity = { notBefore: '2026-12-01T00:00:00Z', notAfter: '2026-11-01T00:00:00Z' };
        },
        'spec.validity.notAfter: Invalid value: "object": notAfter must be after notBefore',
      ],
      [
        'grant-ci-runner.yaml',
        (d) => {
          d.spec.serviceAccountName = 'CI_Runner';
        },
        `spec.serviceAccountName: Invalid value: "CI_Runner": spec.serviceAccountName in body should match`,
      ],
      [
        'attestation-runner-1.yaml',
        (d) => {
          d.metadata.name = 'runner-2';
        },
        `spec.token: Invalid value: "<token>": the token's sub "runner-1" is not this node (runner-2)`,
      ],
      [
        'attestation-runner-1.yaml',
        (d) => {
          d.spec.token = 'not a token';
        },
        'spec.token: Invalid value: "not a token": spec.token in body should match',
      ],
    ];
    for (const [name, edit, expected] of cases) {
      const file = await variant(name, edit);
      const r = await run('-f', file);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`${file}: ${KIND_OF[name]}/`);
      expect(r.stdout).toContain(expected);
    }
  });

  it('checks every document of a multi-document file and skips other kinds', async () => {
    const file = path.join(dir, 'multi.yaml');
    const policy = await readFile(path.join(EXAMPLES, 'policy-ci-runners.yaml'), 'utf8');
    const ns = await readFile(path.join(EXAMPLES, '00-namespace-ci.yaml'), 'utf8');
    const badGrant = yaml.dump({
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'WorkloadGrant',
      metadata: { name: 'x', namespace: 'ci' },
      spec: {},
    });
    await writeFile(file, [policy, ns, badGrant].join('---\n'));
    const r = await run('-f', file);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual([
      'OK EndpointTrustPolicy/ci-runners',
      `${file}: WorkloadGrant/x: spec.serviceAccountName: Required value`,
      `${file}: WorkloadGrant/x: spec.policyRef: Required value`,
      `${file}: WorkloadGrant/x: <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation`,
    ]);
  });

  it('reports an unknown trustgate kind', async () => {
    const file = path.join(dir, 'unknown.yaml');
    await writeFile(
      file,
      'apiVersion: trustgate.dev/v1alpha1\nkind: NodePolicy\nmetadata: {name: a}\n',
    );
    const r = await run('-f', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('kind: Unsupported value: "NodePolicy"');
  });

  it('exits 2 with one line for usage errors and unreadable input', async () => {
    const badYaml = path.join(dir, 'bad.yaml');
    await writeFile(badYaml, 'a: [unclosed\n');
    for (const args of [
      [],
      ['-f'],
      ['--bogus'],
      ['-f', path.join(dir, 'missing.yaml')],
      ['-f', badYaml],
    ]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect((await run('-f', badYaml)).stderr).toContain(`${badYaml}: not valid YAML`);
  });
});
