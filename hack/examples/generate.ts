// Regenerates the example resources in hack/examples/ from the DEMO key in
// hack/examples/keys/ (created on first run). The key is for the demo only: it is public
// in this repository, so anything it signs proves nothing.
//   node hack/examples/generate.ts [--new-key] [--iat RFC3339]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import yaml from 'js-yaml';
import { demoAttestation, ISSUER } from '../demo/manifests.ts';
import { DEMO_IAT, demoAdmissionFiles } from './demo-admission.ts';

const dir = path.dirname(fileURLToPath(import.meta.url));
const keyFile = path.join(dir, 'keys', 'demo-verifier.private.jwk.json');
const KID = 'demo-verifier-1';
const NODE = 'runner-1';

async function demoKey(fresh: boolean): Promise<JWK> {
  if (!fresh) {
    const existing = await readFile(keyFile, 'utf8').catch(() => undefined);
    if (existing) return JSON.parse(existing) as JWK;
  }
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'ES256', use: 'sig' };
  await mkdir(path.dirname(keyFile), { recursive: true });
  await writeFile(keyFile, `${JSON.stringify(jwk, null, 2)}\n`);
  return jwk;
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, ...pub } = jwk;
  return pub;
}

const dump = (doc: unknown) => yaml.dump(doc, { lineWidth: -1, noRefs: true });

/** An EAR attestation result for a node, signed with the demo key. */
export async function signDemoAttestation(
  priv: JWK,
  node: string,
  posture: object,
  iat: number,
): Promise<string> {
  return new SignJWT({
    eat_profile: 'tag:github.com,2023:veraison/ear',
    'ear.verifier-id': { build: 'demo-verifier 0.1.0', developer: 'https://trustgate.dev' },
    submods: {
      endpoint: {
        'ear.status': 'affirming',
        'ear.trustworthiness-vector': { 'instance-identity': 2, configuration: 2, hardware: 2 },
      },
    },
    posture,
  })
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setSubject(node)
    .setIssuedAt(iat)
    .sign(await importJWK(priv, 'ES256'));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const iatArg = args[args.indexOf('--iat') + 1];
  const iat =
    args.includes('--iat') && iatArg ? Date.parse(iatArg) / 1000 : Math.floor(Date.now() / 1000);
  const priv = await demoKey(args.includes('--new-key'));

  const policy = {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name: 'ci-runners' },
    spec: {
      nodeSelector: { matchLabels: { 'node-role.trustgate.dev/ci-runner': 'true' } },
      workloadSelector: {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ci' } },
      },
      attestation: demoAttestation({ keys: [publicPart(priv)] }),
      workloadIdentity: { requireGrant: true, maxExpirationSeconds: 3600 },
      enforcement: {
        mode: 'Enforce',
        onDrift: { gracePeriod: '0s', taint: true, podAction: 'ForceDelete' },
      },
    },
  };
  const grant = {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'WorkloadGrant',
    metadata: { name: 'ci-runner', namespace: 'ci' },
    spec: {
      serviceAccountName: 'ci-runner',
      policyRef: { name: 'ci-runners' },
      audiences: ['https://kubernetes.default.svc'],
      maxExpirationSeconds: 3600,
      rotateServiceAccount: true,
    },
  };
  const token = await signDemoAttestation(
    priv,
    NODE,
    { diskEncryption: true, secureBoot: true, patchAgeDays: 3, edr: { healthy: true } },
    iat,
  );
  const attestation = {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'NodeAttestation',
    metadata: { name: NODE },
    spec: { token },
  };
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ci', labels: { 'kubernetes.io/metadata.name': 'ci' } },
  };
  const files: Record<string, string> = {
    // 00- so `kubectl apply -f hack/examples/` creates the namespace before the grant.
    '00-namespace-ci.yaml': dump(namespace),
    'policy-ci-runners.yaml': `# A CI-runner pool: signed posture required, at most 2 minutes old.\n# The JWKS holds the public half of the DEMO key in keys/ (demo only).\n${dump(policy)}`,
    'grant-ci-runner.yaml': `# The ci-runner service account in namespace ci may run on nodes trusted by ci-runners.\n${dump(grant)}`,
    'attestation-runner-1.yaml': `# Signed with the DEMO key in keys/; regenerate with node hack/examples/generate.ts\n# for a fresh iat (freshness is checked by the trust decision, not the schema).\n${dump(attestation)}`,
  };
  for (const [name, content] of Object.entries(files))
    await writeFile(path.join(dir, name), content);
  const demoIat = Date.parse(DEMO_IAT) / 1000;
  const demo = await demoAdmissionFiles({ keys: [publicPart(priv)] }, (node, posture) =>
    signDemoAttestation(priv, node, posture, demoIat),
  );
  await mkdir(path.join(dir, 'demo'), { recursive: true });
  for (const [name, content] of Object.entries(demo))
    await writeFile(path.join(dir, 'demo', name), content);
}

// Run as a script; imported (by the sync test) for signDemoAttestation only.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
