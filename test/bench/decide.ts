// `npm run bench -- decide [--tokens N] [--seconds S]`: trust decisions per second through
// the real path (header checks, jose signature verification with the keyring's cached keys,
// EAR claims, freshness, appraisal, posture) against raw jose compactVerify of the same
// tokens with the same CryptoKey, in the same run, one core (sequential awaits).
import { parseArgs } from 'node:util';
import { compactVerify } from 'jose';
import { decideNodeTrust, VerifierKeyring } from '../../operator/trust/index.ts';
import { earClaims, makeKey, policy, sign } from '../unit/trust/fixtures.ts';

async function measure(label: string, seconds: number, once: (i: number) => Promise<void>) {
  // Warm up (JIT, key import) before timing.
  for (let i = 0; i < 500; i++) await once(i);
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() - start < budget) {
    for (let j = 0; j < 100; j++) await once(n++);
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = n / elapsed;
  console.log(
    `${label.padEnd(28)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} /s  (${n} in ${elapsed.toFixed(2)} s)`,
  );
  return rate;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      tokens: { type: 'string', default: '256' },
      seconds: { type: 'string', default: '3' },
    },
  });
  const count = Number(values.tokens);
  const seconds = Number(values.seconds);
  // The trust tests' key, EAR claims and policy, with fresh tokens and every posture rule.
  const key = await makeKey('bench-1');
  const now = Date.now();
  const nodes = Array.from({ length: count }, (_, i) => `node-${i}`);
  const tokens = await Promise.all(
    nodes.map((node) => sign(key, earClaims({ iat: Math.floor(now / 1000) - 30, sub: node }))),
  );
  const benchPolicy = policy([key.publicJwk], {
    posture: [
      { key: 'diskEncryption', operator: 'Equals', values: ['true'] },
      { key: 'secureBoot', operator: 'Equals', values: ['true'] },
      { key: 'patchAgeDays', operator: 'LessThanOrEqual', values: ['14'] },
      { key: 'edr.healthy', operator: 'Equals', values: ['true'] },
      { key: 'edr.version', operator: 'VersionAtLeast', values: ['7.0'] },
      { key: 'enrollment', operator: 'In', values: ['managed', 'corporate'] },
    ],
  });
  const keyring = VerifierKeyring.forPolicy(benchPolicy);
  const check = await decideNodeTrust({
    node: { name: nodes[0] as string },
    policy: benchPolicy,
    attestation: tokens[0],
    now,
    keyring,
  });
  if (!check.trusted) throw new Error(`bench token not trusted: ${JSON.stringify(check.reasons)}`);
  const [entry] = keyring.candidates('bench-1');
  if (!entry) throw new Error('bench key missing');
  const cryptoKey = await keyring.cryptoKey(entry, 'ES256');

  console.log(
    `decide bench: ${count} ES256 tokens, ${seconds}s per measurement, node ${process.version}`,
  );
  let failures = 0;
  const decisions = await measure('decisions (verify+evaluate)', seconds, async (i) => {
    const d = await decideNodeTrust({
      node: { name: nodes[i % count] as string },
      policy: benchPolicy,
      attestation: tokens[i % count],
      now,
      keyring,
    });
    if (!d.trusted) failures++;
  });
  const jose = await measure('jose compactVerify', seconds, async (i) => {
    await compactVerify(tokens[i % count] as string, cryptoKey, { algorithms: ['ES256'] });
  });
  if (failures > 0) throw new Error(`${failures} decisions were untrusted`);
  console.log(
    `overhead of the decision over raw verification: ${((jose / decisions - 1) * 100).toFixed(1)}%`,
  );
  console.log(
    JSON.stringify({
      bench: 'decide',
      decisions_per_s: Math.round(decisions),
      jose_verifies_per_s: Math.round(jose),
    }),
  );
}
