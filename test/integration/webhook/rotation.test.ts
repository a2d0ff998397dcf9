// Self-managed TLS rotation under load: with a serving certificate that lives 4 s (renewed
// at 2/3 of its life), the API server keeps calling the webhook through several rotations
// and not one admission request fails.
import tls from 'node:tls';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readCertificate, splitPemBundle } from '../../../webhook/tls/certificates.ts';
import { makeGrant, makePolicy, runnerPod, signAttestation } from '../../unit/webhook/world.ts';
import {
  applyAttestation,
  createNamespace,
  createNode,
  createPolicy,
  createServiceAccount,
  setupWebhookEnv,
  TG,
  type WebhookEnv,
  waitFor,
} from './env.ts';

let env: WebhookEnv;
let ns: string;
let port: number;

/** The certificate a new TLS connection to the webhook is served (its serial number). */
function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  env = await setupWebhookEnv();
  ns = `rot-${env.id}`;
  await createNamespace(env, ns);
  await createServiceAccount(env, ns, 'runner');
  await createNode(env, `rot-node-${env.id}`, { pool: `rot-${env.id}` });
  await applyAttestation(
    env,
    `rot-node-${env.id}`,
    await signAttestation(env.key, `rot-node-${env.id}`, Date.now()),
  );
  await createPolicy(
    env,
    makePolicy(`rot-${env.id}`, env.key, { pool: `rot-${env.id}`, namespaces: [ns] }),
  );
  await env.client.create(
    `/apis/${TG.group}/${TG.version}/namespaces/${ns}/workloadgrants`,
    makeGrant('runner', ns, 'runner', `rot-${env.id}`),
  );
  const runtime = await env.start(['--cert-lifetime', '4s']);
  port = runtime.webhookPort;
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

it('rotates the serving certificate without a failed request', async () => {
  const dryRunCreate = (i: number) =>
    env.client.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      query: { dryRun: 'All' },
      body: runnerPod(`probe-${i}`, { nodeName: `rot-node-${env.id}` }),
    });
  await waitFor(() => dryRunCreate(0).then(() => true), 'first admission');
  const secretPath = `/api/v1/namespaces/${env.system}/secrets/trustgate-${env.id}-webhook-tls`;
  const caBefore = (await env.client.get<{ data: Record<string, string> }>(secretPath)).data[
    'ca-signer.crt'
  ];
  const serials = new Set<string>();
  const failures: string[] = [];
  let requests = 0;
  const end = Date.now() + 9_000;
  while (Date.now() < end) {
    try {
      await dryRunCreate(++requests);
    } catch (err) {
      failures.push((err as Error).message);
    }
    if (requests % 10 === 0) serials.add(await servedSerial());
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(failures).toEqual([]);
  expect(requests).toBeGreaterThan(100);
  expect(serials.size).toBeGreaterThanOrEqual(2); // at least one rotation seen
  const secret = await env.client.get<{ data: Record<string, string> }>(secretPath);
  // Same CA throughout: the caBundle the API server holds never had to change.
  expect(secret.data['ca-signer.crt']).toBe(caBefore);
  const serving = readCertificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64').toString());
  expect(serving?.hosts).toEqual(
    expect.arrayContaining(['127.0.0.1', `trustgate-${env.id}.${env.system}.svc`]),
  );
  expect(
    splitPemBundle(Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString()),
  ).toHaveLength(1);
}, 30_000);
