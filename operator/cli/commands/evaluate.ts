// `trustgate evaluate`: the trust decision for NodeAttestations under policies, offline,
// with exactly the code the webhook and controllers use. Exit 0 trusted, 1 untrusted,
// 2 for usage or input errors.
import type { EndpointTrustPolicy, NodeAttestation } from '../../api/types.generated.ts';
import { defaultedResource } from '../../schema/resources.ts';
import {
  decideNodeTrust,
  type JwksResolver,
  JwksUnavailable,
  type NodeDecision,
  parseTimestamp,
  type SecretData,
  secretJwksResolver,
  VerifierKeyring,
} from '../../trust/index.ts';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';
import { readDocuments, readObject } from '../read-input.ts';

const USAGE = `Usage: trustgate evaluate --policy FILE --attestation FILE [flags]

Decides whether each NodeAttestation's node is trusted under each EndpointTrustPolicy.

  --policy FILE          EndpointTrustPolicy documents (multi-document YAML); Secret
                         documents there serve verifiers that use jwksSecretRef
  --attestation FILE     NodeAttestation documents
  --now RFC3339          evaluate at this time (default now)
  --expected-nonce N     the nonce the policy expects (default: status.nonce.value)
  --node-labels K=V,...  the node's labels; given, the policy's nodeSelector is checked
  --jwks FILE            JWKS for verifiers that use jwksSecretRef
  -o, --output FORMAT    text (default) or json (one JSON object per node and policy)

Exit status: 0 every node trusted, 1 some node untrusted, 2 usage or input error.`;

const OPTIONS = {
  policy: { type: 'string' },
  attestation: { type: 'string' },
  now: { type: 'string' },
  'expected-nonce': { type: 'string' },
  'node-labels': { type: 'string' },
  jwks: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'text' },
} as const;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new UsageError(`--node-labels: "${part}" is not KEY=VALUE`);
    labels[part.slice(0, i)] = part.slice(i + 1);
  }
  return labels;
}

function kindOf(doc: unknown): string | undefined {
  const kind = (doc as { kind?: unknown })?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** Schema-checks and defaults a trustgate resource; problems are input errors (exit 2). */
function checked<T>(file: string, doc: unknown): T {
  const { object, errors } = defaultedResource(doc);
  if (errors.length > 0) {
    const name = (doc as { metadata?: { name?: unknown } })?.metadata?.name;
    const lines = errors.map((e) => `  ${e.field ? `${e.field}: ` : ''}${e.message}`).join('\n');
    throw new UsageError(`${file}: ${kindOf(doc)}/${String(name)} is invalid:\n${lines}`);
  }
  return object as T;
}

/** Base64 Secret data from a Secret manifest (data, or stringData as kubectl would encode it). */
function secretData(doc: Record<string, unknown>): SecretData {
  const data = { ...((doc.data as Record<string, string>) ?? {}) };
  for (const [k, v] of Object.entries((doc.stringData as Record<string, string>) ?? {})) {
    data[k] = Buffer.from(String(v)).toString('base64');
  }
  return data;
}

function describe(d: NodeDecision): string {
  if (d.trusted) {
    const a = d.attestation;
    const until = Number.isFinite(d.validUntil) ? new Date(d.validUntil).toISOString() : 'never';
    return `node ${d.node} under policy ${d.policy}: trusted (verifier ${a?.verifier}, key ${a?.keyID ?? '-'}, fresh until ${until})\n`;
  }
  return `node ${d.node} under policy ${d.policy}: untrusted\n${d.reasons.map((r) => `  ${r.code}: ${r.message}\n`).join('')}`;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(args, OPTIONS, USAGE) as Record<string, string | undefined>;
  if (!values.policy || !values.attestation) {
    throw new UsageError(`--policy and --attestation are required\n\n${USAGE}`);
  }
  const output = values.output as string;
  if (output !== 'text' && output !== 'json')
    throw new UsageError(`-o ${output}: use text or json`);
  const now = values.now === undefined ? Date.now() : parseTimestamp(values.now);
  if (now === undefined) throw new UsageError(`--now ${values.now} is not an RFC 3339 time`);
  const labels = values['node-labels'] ? parseLabels(values['node-labels']) : undefined;

  const policyDocs = await readDocuments(values.policy);
  const policies = policyDocs
    .filter((d) => kindOf(d) === 'EndpointTrustPolicy')
    .map((d) => checked<EndpointTrustPolicy>(values.policy as string, d));
  if (policies.length === 0) throw new UsageError(`${values.policy}: no EndpointTrustPolicy found`);
  const attestationFile = values.attestation;
  const attestations = (await readDocuments(attestationFile))
    .filter((d) => kindOf(d) === 'NodeAttestation')
    .map((d) => checked<NodeAttestation>(attestationFile, d));
  if (attestations.length === 0)
    throw new UsageError(`${attestationFile}: no NodeAttestation found`);

  const secrets = new Map<string, SecretData>();
  for (const doc of policyDocs) {
    if (kindOf(doc) !== 'Secret') continue;
    const s = doc as Record<string, unknown> & { metadata?: { name?: string; namespace?: string } };
    secrets.set(`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`, secretData(s));
  }
  const fallbackJwks = values.jwks ? await readObject(values.jwks, 'JWKS') : undefined;
  const fromSecrets = secretJwksResolver((ns, name) => {
    // A Secret manifest without a namespace matches a reference by name alone.
    return secrets.get(`${ns}/${name}`) ?? secrets.get(`/${name}`);
  }, 'trustgate-system');
  const resolve: JwksResolver = (verifier) => {
    const found = fromSecrets(verifier);
    return found instanceof JwksUnavailable ? (fallbackJwks ?? found) : found;
  };

  let allTrusted = true;
  for (const policy of policies) {
    const keyring = VerifierKeyring.forPolicy(policy, resolve);
    for (const attestation of attestations) {
      const decision = await decideNodeTrust({
        node: { name: attestation.metadata.name as string, labels },
        policy,
        attestation,
        now,
        keyring,
        expectedNonce: values['expected-nonce'],
      });
      allTrusted &&= decision.trusted;
      io.stdout(
        output === 'json'
          ? `${JSON.stringify({ node: decision.node, policy: decision.policy, trusted: decision.trusted, reasons: decision.reasons })}\n`
          : describe(decision),
      );
    }
  }
  return allTrusted ? EXIT.ok : EXIT.failed;
}

export const command: Command = {
  usage: USAGE,
  run,
};
