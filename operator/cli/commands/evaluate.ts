// `trustgate evaluate`: the trust decision for NodeAttestations under policies, offline,
// with exactly the code the webhook and controllers use. Exit 0 trusted, 1 untrusted,
// 2 for usage or input errors.
import type { EndpointTrustPolicy, NodeAttestation } from '../../api/types.generated.ts';
import {
  decideNodeTrust,
  type JwksResolver,
  JwksUnavailable,
  type NodeDecision,
  type SecretData,
  secretJwksResolver,
  VerifierKeyring,
} from '../../trust/index.ts';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';
import { checked, kindOf, secretData } from '../manifests.ts';
import { decidePods, describeResult, loadInputs, parseNow } from '../offline-admission.ts';
import { readDocuments, readObject } from '../read-input.ts';

const USAGE = `Usage: trustgate evaluate -f PATH [-f PATH...] [--now T] [-o json]
       trustgate evaluate --policy FILE --attestation FILE [flags]

With -f: what the admission webhook would decide for each pod. PATHs are files or
directories of manifests (multi-document YAML): EndpointTrustPolicies, WorkloadGrants,
NodeAttestations, TrustExemptions, Namespaces (their labels), Nodes (their labels: the
policies' node pools), Secrets (JWKS), and Pods, Deployments, ReplicaSets, StatefulSets,
DaemonSets, Jobs and CronJobs (their pod templates). A pod with spec.nodeName is judged on
that node; others are "unscheduled" (their node is judged when they are bound).
  -f, --filename PATH    manifests (repeatable)
  --trustgate-namespace N  trustgate's namespace, whose exemptions reach every namespace
                         (default trustgate-system)
  --api-audiences A,...  the API server's default token audiences (as trustgate run)
Exit status: 0 every pod admitted, 1 some pod denied, 2 usage or input error.

With --policy: whether each NodeAttestation's node is trusted under each policy.

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
  filename: { type: 'string', short: 'f', multiple: true },
  'trustgate-namespace': { type: 'string', default: 'trustgate-system' },
  'api-audiences': { type: 'string' },
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

function describe(d: NodeDecision): string {
  if (d.trusted) {
    const a = d.attestation;
    const until = Number.isFinite(d.validUntil) ? new Date(d.validUntil).toISOString() : 'never';
    return `node ${d.node} under policy ${d.policy}: trusted (verifier ${a?.verifier}, key ${a?.keyID ?? '-'}, fresh until ${until})\n`;
  }
  return `node ${d.node} under policy ${d.policy}: untrusted\n${d.reasons.map((r) => `  ${r.code}: ${r.message}\n`).join('')}`;
}

/** -f: the webhook's verdict on every pod of the manifests. */
async function runWorkloads(
  paths: string[],
  values: Record<string, string | undefined>,
  io: CliIO,
): Promise<number> {
  const inputs = await loadInputs(paths);
  if (inputs.pods.length === 0)
    throw new UsageError(`${paths.join(', ')}: no pod or workload found`);
  const results = await decidePods(inputs, {
    now: parseNow(values.now),
    trustgateNamespace: values['trustgate-namespace'] as string,
    apiAudiences: values['api-audiences']?.split(',').filter(Boolean),
  });
  for (const r of results) {
    io.stdout(values.output === 'json' ? `${JSON.stringify(r)}\n` : describeResult(r));
  }
  return results.every((r) => r.allowed) ? EXIT.ok : EXIT.failed;
}

async function run(args: string[], io: CliIO): Promise<number> {
  const { filename, ...values } = parseFlags(args, OPTIONS, USAGE);
  const output = values.output as string;
  if (output !== 'text' && output !== 'json')
    throw new UsageError(`-o ${output}: use text or json`);
  if (filename?.length) return runWorkloads(filename, values as Record<string, string>, io);
  if (!values.policy || !values.attestation) {
    throw new UsageError(`-f, or --policy and --attestation, are required\n\n${USAGE}`);
  }
  const now = parseNow(values.now);
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
