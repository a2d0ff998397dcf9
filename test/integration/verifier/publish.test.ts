// `trustgate attest publish` against a cluster (sandbox or real tier): a stock EAR appraisal
// from a posture command becomes a NodeAttestation that trustgate trusts, the loop picks up
// the nonce trustgate issues and re-attests with it, and a node it cannot attest makes
// --once exit 1 with a clear message.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK } from 'jose';
import { runCaptured } from '../../../operator/cli/main.ts';
import { TRUSTGATE_BIN } from '../../support/trustgate-process.ts';
import { ISSUER } from '../../unit/trust/fixtures.ts';
import { VERAISON_EAR } from '../../unit/verifier/fixtures.ts';
import {
  createNode,
  createPolicy,
  type Env,
  getObject,
  policyObject,
  waitFor,
  withOperator,
} from '../operator/harness.ts';

const started = withOperator();
let env: Env;
let dir: string;
let keyFile: string;

beforeAll(async () => {
  ({ env } = started());
  dir = await mkdtemp(path.join(os.tmpdir(), 'tg-publish-'));
  keyFile = path.join(dir, 'private.jwk');
  const jwk = { ...(await exportJWK(env.key.privateKey)), kid: env.key.kid, alg: 'ES256' };
  await writeFile(keyFile, JSON.stringify(jwk), { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Status {
  nonce?: { value?: string };
  results?: { policy: string; trusted: boolean; reasons?: { code: string }[] }[];
}
const status = async (node: string) =>
  (await getObject<{ status?: Status }>(env, 'nodeattestations', node)).status;

/** The appraisal a verifier returns for a node, unchallenged (the publisher adds the nonce). */
async function writeAppraisal(node: string) {
  const { eat_nonce: _n, ...ear } = VERAISON_EAR;
  await writeFile(
    path.join(dir, `${node}.json`),
    JSON.stringify({ ...ear, iat: Math.floor(Date.now() / 1000) }),
  );
}

const cli = runCaptured;

const base = () => [
  'attest',
  'publish',
  '--key',
  keyFile,
  '--issuer',
  ISSUER,
  '--kubeconfig',
  env.cluster.kubeconfigPath,
];

describe('attest publish', () => {
  it('publishes a stock EAR appraisal with the nonce trustgate expects, on an interval', async () => {
    const policy = `p-${env.id}-pub`;
    const p = policyObject(env, policy, {
      attestation: {
        requireNonce: true,
        // The appraisal's claims, as the verifier reported them.
        posture: [
          { key: 'diskEncryption', operator: 'Equals', values: ['true'] },
          { key: 'edr.version', operator: 'VersionAtLeast', values: ['7.0'] },
        ],
      },
    });
    await createPolicy(env, p);
    const nodes = [`${policy}-n1`, `${policy}-n2`];
    for (const n of nodes) {
      await createNode(env, n, policy);
      await writeAppraisal(n);
    }
    // The loop as the chart runs it: a real process, posture from a command per node.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        TRUSTGATE_BIN,
        ...base(),
        ...nodes.flatMap((n) => ['--node', n]),
        '--posture-command',
        `cat "${dir}/$TRUSTGATE_NODE.json"`,
        '--interval',
        '1s',
      ],
      { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    try {
      // First round: no nonce yet (NonceMissing); trustgate issues one; the next round
      // carries it and the node is trusted, with no one else writing the attestation.
      for (const n of nodes) {
        await waitFor(
          async () => (await status(n))?.results?.find((r) => r.policy === policy)?.trusted,
          `${n} trusted through attest publish`,
        );
        const s = await status(n);
        expect(s?.nonce?.value).toBeDefined();
      }
      expect(output).toContain(`attest publish: ${nodes[0]}: published`);
      expect(output).not.toMatch(/eyJ/); // no token in the output
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    expect(child.exitCode).toBe(0);
  }, 60_000);

  it('--once exits 1 naming the node it cannot attest, after --max-failures tries', async () => {
    const r = await cli([
      ...base(),
      '--once',
      '--max-failures',
      '2',
      '--node',
      `nothing-${env.id}`,
      '--posture-dir',
      dir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `nothing-${env.id}: gave up after 2 failures in a row: no posture file`,
    );
    expect(r.stderr).toContain(`error: attest publish: cannot attest nothing-${env.id}`);
  }, 30_000);
});
