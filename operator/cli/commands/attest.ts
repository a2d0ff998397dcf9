// `trustgate attest sign`: signs an EAR attestation result for a node with a verifier's
// private JWK and prints it as a NodeAttestation manifest (or the bare token). For demos,
// tests and verifiers that want a reference signer.
import yaml from 'js-yaml';
import { API_VERSION, EAR_STATUSES } from '../../api/crds.ts';
import { parseDuration, parseTimestamp } from '../../trust/index.ts';
import { signEar } from '../../verifier/sign.ts';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';
import { readObject } from '../read-input.ts';
import { loadPrivateKey, parseVector } from '../signing.ts';

const USAGE = `Usage: trustgate attest sign --key FILE --node NAME [flags]

Signs an EAR attestation result (compact JWS) for a node and prints a NodeAttestation.

  --key FILE             private JWK (from \`trustgate keys generate\`)
  --node NAME            the node (becomes sub and the NodeAttestation name)
  --posture FILE         YAML or JSON object of posture claims (diskEncryption, edr.version, ...)
  --status STATUS        ear.status: ${EAR_STATUSES.join(', ')} (default affirming)
  --vector K=V,...       trustworthiness claims, e.g. hardware=2,executables=2 (-128..127)
  --submod NAME          submodule name (default node)
  --iat RFC3339          issue time (default now)
  --expires-in DURATION  add exp = iat + DURATION (e.g. 10m)
  --nonce N              eat_nonce (8 to 88 characters)
  --issuer I             iss (default trustgate-cli)
  --verifier-build B     ear.verifier-id build (default trustgate-cli)
  --verifier-developer D ear.verifier-id developer (default https://trustgate.dev)
  --alg ALG              signature algorithm when the JWK names none
  -o, --output FORMAT    yaml (default), json, or token (the bare JWS)`;

const OPTIONS = {
  key: { type: 'string' },
  node: { type: 'string' },
  posture: { type: 'string' },
  status: { type: 'string', default: 'affirming' },
  vector: { type: 'string' },
  submod: { type: 'string', default: 'node' },
  iat: { type: 'string' },
  'expires-in': { type: 'string' },
  nonce: { type: 'string' },
  issuer: { type: 'string', default: 'trustgate-cli' },
  'verifier-build': { type: 'string', default: 'trustgate-cli' },
  'verifier-developer': { type: 'string', default: 'https://trustgate.dev' },
  alg: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'yaml' },
} as const;

async function sign(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(args, OPTIONS, USAGE) as Record<string, string | undefined>;
  const { key: keyFile, node } = values;
  if (!keyFile || !node) throw new UsageError(`--key and --node are required\n\n${USAGE}`);
  const output = values.output as string;
  if (!['yaml', 'json', 'token'].includes(output)) {
    throw new UsageError(`-o ${output}: use yaml, json or token`);
  }
  const status = values.status as string;
  if (!(EAR_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status ${status}: use one of ${EAR_STATUSES.join(', ')}`);
  }
  const iatMs = values.iat === undefined ? Date.now() : parseTimestamp(values.iat);
  if (iatMs === undefined) throw new UsageError(`--iat ${values.iat} is not an RFC 3339 time`);
  const iat = Math.floor(iatMs / 1000);
  let exp: number | undefined;
  if (values['expires-in'] !== undefined) {
    const ms = parseDuration(values['expires-in']);
    if (ms === undefined)
      throw new UsageError(`--expires-in ${values['expires-in']} is not a duration`);
    exp = iat + Math.ceil(ms / 1000);
  }
  const nonce = values.nonce;
  if (nonce !== undefined && (nonce.length < 8 || nonce.length > 88)) {
    throw new UsageError('--nonce must be 8 to 88 characters (EAR)');
  }
  const posture = values.posture ? await readObject(values.posture, 'posture') : undefined;
  const vector = values.vector ? parseVector(values.vector) : undefined;
  const key = await loadPrivateKey(keyFile, values.alg);
  const token = await signEar(
    {
      node,
      iat,
      exp,
      issuer: values.issuer as string,
      verifierId: {
        build: values['verifier-build'] as string,
        developer: values['verifier-developer'] as string,
      },
      nonce,
      submods: {
        [values.submod as string]: {
          'ear.status': status,
          ...(vector ? { 'ear.trustworthiness-vector': vector } : {}),
        },
      },
      posture,
    },
    key,
  );
  if (output === 'token') {
    io.stdout(`${token}\n`);
    return EXIT.ok;
  }
  const manifest = {
    apiVersion: API_VERSION,
    kind: 'NodeAttestation',
    metadata: { name: node },
    spec: { token },
  };
  io.stdout(
    output === 'json' ? `${JSON.stringify(manifest)}\n` : yaml.dump(manifest, { lineWidth: -1 }),
  );
  return EXIT.ok;
}

export const command: Command = {
  usage: USAGE,
  run: sign,
};
