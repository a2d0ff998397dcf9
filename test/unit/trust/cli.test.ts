// keys generate -> attest sign -> evaluate, in process through main(), plus one real spawn.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import yaml from 'js-yaml';
import { runCaptured } from '../../../operator/cli/main.ts';

let dir: string;
const at = (f: string) => path.join(dir, f);

const cli = (...argv: string[]) => runCaptured(argv);

function policyYaml(jwks: unknown, extra: Record<string, unknown> = {}) {
  return yaml.dump({
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name: 'ci-runners' },
    spec: {
      nodeSelector: { matchLabels: { pool: 'ci' } },
      attestation: {
        verifiers: [{ name: 'corp-edr', issuer: 'https://verifier.example', jwks }],
        maxAge: '5m',
        trustworthiness: { hardware: 'affirming' },
        posture: [
          { key: 'diskEncryption', operator: 'Equals', values: ['true'] },
          { key: 'edr.version', operator: 'VersionAtLeast', values: ['7.0'] },
        ],
        ...extra,
      },
    },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'trustgate-cli-'));
  const keys = await cli('keys', 'generate', '--alg', 'ES256', '--kid', 'k1', '--out', at('keys'));
  expect(keys.code).toBe(0);
  const jwks = JSON.parse(await readFile(at('keys/jwks.json'), 'utf8'));
  await writeFile(
    at('policy.yaml'),
    `${policyYaml(jwks)}---\n${policyYaml(jwks, { minimumStatus: 'warning' }).replace('ci-runners', 'lenient')}`,
  );
  await writeFile(at('posture.yaml'), 'diskEncryption: true\nedr:\n  version: "7.2.1"\n');
  await writeFile(at('bad-posture.yaml'), 'diskEncryption: false\nedr:\n  version: "7.2.1"\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The arguments of `evaluate` for an attestation file against the test policies. */
const evaluateArgs = (attestationFile: string) => [
  'evaluate',
  '--policy',
  at('policy.yaml'),
  '--attestation',
  at(attestationFile),
];

const sign = (...extra: string[]) =>
  cli(
    'attest',
    'sign',
    '--key',
    at('keys/private.jwk'),
    '--node',
    'runner-1',
    '--issuer',
    'https://verifier.example',
    '--iat',
    '2026-11-25T11:59:00Z',
    '--vector',
    'hardware=2',
    ...extra,
  );

describe('keys generate', () => {
  test('writes a private JWK (0600) and a public JWKS, and will not overwrite without --force', async () => {
    const priv = JSON.parse(await readFile(at('keys/private.jwk'), 'utf8'));
    const pub = JSON.parse(await readFile(at('keys/jwks.json'), 'utf8'));
    expect(priv).toMatchObject({ kty: 'EC', crv: 'P-256', kid: 'k1', alg: 'ES256' });
    expect(typeof priv.d).toBe('string');
    expect(pub.keys).toHaveLength(1);
    expect(pub.keys[0].d).toBeUndefined();
    expect((await stat(at('keys/private.jwk'))).mode & 0o777).toBe(0o600);
    const again = await cli('keys', 'generate', '--out', at('keys'));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect((await cli('keys', 'generate', '--alg', 'HS256', '--out', at('x'))).code).toBe(2);
    expect((await cli('keys', 'generate', '--alg', 'EdDSA', '--out', at('ed'))).code).toBe(0);
  });
});

describe('attest sign + evaluate', () => {
  test('a good attestation is trusted under both policies (exit 0), with one JSON object per pair', async () => {
    const signed = await sign('--posture', at('posture.yaml'));
    expect(signed.code).toBe(0);
    const manifest = yaml.load(signed.stdout) as {
      kind: string;
      metadata: { name: string };
      spec: { token: string };
    };
    expect(manifest).toMatchObject({ kind: 'NodeAttestation', metadata: { name: 'runner-1' } });
    await writeFile(at('good.yaml'), signed.stdout);
    const r = await cli(
      ...evaluateArgs('good.yaml'),
      '--now',
      '2026-11-25T12:00:00Z',
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { node: 'runner-1', policy: 'ci-runners', trusted: true, reasons: [] },
      { node: 'runner-1', policy: 'lenient', trusted: true, reasons: [] },
    ]);
  });

  test('failed posture, status and freshness give exit 1 with reasons', async () => {
    const signed = await sign(
      '--posture',
      at('bad-posture.yaml'),
      '--status',
      'warning',
      '-o',
      'token',
    );
    const token = signed.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    await writeFile(
      at('bad.yaml'),
      yaml.dump({
        apiVersion: 'trustgate.dev/v1alpha1',
        kind: 'NodeAttestation',
        metadata: { name: 'runner-1' },
        spec: { token },
      }),
    );
    const r = await cli(...evaluateArgs('bad.yaml'), '--now', '2026-11-25T12:10:00Z', '-o', 'json');
    expect(r.code).toBe(1);
    const [strict] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(strict.trusted).toBe(false);
    expect(strict.reasons.map((x: { code: string }) => x.code)).toEqual([
      'Stale',
      'StatusBelowMinimum',
      'PostureRequirementFailed',
    ]);
    const text = await cli(
      ...evaluateArgs('bad.yaml'),
      '--now',
      '2026-11-25T12:00:00Z',
      '--node-labels',
      'pool=web',
    );
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      'NotInNodePool: node runner-1 is not in the node pool of policy ci-runners',
    );
  });

  test('input errors exit 2 with one clear message and no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['evaluate', '--attestation', at('good.yaml')],
        /-f, or --policy and --attestation, are required/,
      ],
      [
        ['evaluate', '--policy', at('missing.yaml'), '--attestation', at('good.yaml')],
        /missing\.yaml: cannot read: no such file/,
      ],
      [
        ['evaluate', '--policy', at('posture.yaml'), '--attestation', at('good.yaml')],
        /no EndpointTrustPolicy found/,
      ],
      [[...evaluateArgs('good.yaml'), '--now', 'noon'], /not an RFC 3339 time/],
      [[...evaluateArgs('good.yaml'), '--frobnicate'], /Unknown option '--frobnicate'/],
      [['attest', 'sign', '--key', at('keys/jwks.json'), '--node', 'n'], /not a private JWK/],
      [
        ['attest', 'sign', '--key', at('keys/private.jwk'), '--node', 'n', '--vector', 'gpu=2'],
        /unknown category "gpu"/,
      ],
      [
        [
          'attest',
          'sign',
          '--key',
          at('keys/private.jwk'),
          '--node',
          'n',
          '--vector',
          'hardware=300',
        ],
        /-128 to 127/,
      ],
      [
        ['attest', 'sign', '--key', at('keys/private.jwk'), '--node', 'n', '--status', 'great'],
        /--status great/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(...argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    await writeFile(
      at('invalid-policy.yaml'),
      policyYaml({ keys: [] }).replace('maxAge: 5m', 'maxAge: forever'),
    );
    const invalid = await cli(
      'evaluate',
      '--policy',
      at('invalid-policy.yaml'),
      '--attestation',
      at('good.yaml'),
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/EndpointTrustPolicy\/ci-runners is invalid/);
  });

  test('bin/trustgate.js runs the same command as a real process', async () => {
    const run = promisify(execFile);
    const bin = path.resolve('bin/trustgate.js');
    const { stdout } = await run(process.execPath, [
      bin,
      ...evaluateArgs('good.yaml'),
      '--now',
      '2026-11-25T12:00:00Z',
      '-o',
      'json',
    ]);
    expect(JSON.parse(stdout.split('\n')[0] as string)).toMatchObject({
      node: 'runner-1',
      policy: 'ci-runners',
      trusted: true,
    });
    const failed = await run(process.execPath, [
      bin,
      ...evaluateArgs('good.yaml'),
      '--now',
      '2026-11-25T13:00:00Z',
    ]).catch((e: { code: number; stdout: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stdout: string }).stdout).toContain('Stale');
  });
});
