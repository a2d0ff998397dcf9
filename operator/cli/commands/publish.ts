// `trustgate attest publish`: the verifier loop. For each node, reads the nonce trustgate
// expects (NodeAttestation status), reads posture (a file, a per-node file in a directory,
// or a command's output; plain posture claims or a stock IETF RATS EAR appraisal), signs an
// EAR token with the verifier key and applies the NodeAttestation; then again every
// --interval. Tokens and keys are never printed.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { EAR_STATUSES } from '../../api/crds.ts';
import { loadClusterAccess } from '../../kube/kubeconfig.ts';
import { KubeClient } from '../../kube/rest.ts';
import { parseDuration } from '../../trust/index.ts';
import { applyAttestation, readAttestation } from '../../verifier/apply.ts';
import { isEarAppraisal, mapEarAppraisal } from '../../verifier/ear-appraisal.ts';
import {
  type PublishEvent,
  type PublishOptions,
  publishFailed,
  runPublisher,
} from '../../verifier/publish.ts';
import { type EarResult, type SigningKey, signEar } from '../../verifier/sign.ts';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';
import { readObject } from '../read-input.ts';
import { loadPrivateKey, parseVector } from '../signing.ts';

const USAGE = `Usage: trustgate attest publish --key FILE (--node NAME... | --posture-dir DIR) [flags]

Signs posture for nodes with the verifier key and applies their NodeAttestations, carrying
the nonce trustgate expects; repeats every --interval. Posture is plain claims (YAML/JSON)
or a stock EAR appraisal (eat_profile, submods with ear.status, ear.trustworthiness-vector,
ear.veraison.annotated-evidence / ear.veraison.policy-claims), whose submodules are kept and
whose claims become posture.

  --key FILE               private JWK (from \`trustgate keys generate\`)
  --node NAME              a node to attest (repeatable)
  --posture FILE           posture for every --node
  --posture-dir DIR        one file per node: DIR/<node>.json|yaml (a mounted ConfigMap works);
                           without --node, every node with a file there
  --posture-command CMD    run with sh -c per node (env TRUSTGATE_NODE, TRUSTGATE_NONCE);
                           its stdout is the posture
  --command-timeout D      how long the command may run (default 30s)
  --issuer I               iss, as the policy's verifier expects (default trustgate-cli)
  --status STATUS          ear.status for plain posture (default affirming)
  --vector K=V,...         trustworthiness claims for plain posture
  --submod NAME            submodule name for plain posture (default node)
  --verifier-build B       ear.verifier-id build, when the appraisal names none
  --verifier-developer D   ear.verifier-id developer, when the appraisal names none
  --expires-in DURATION    add exp = iat + DURATION
  --alg ALG                signature algorithm when the JWK names none
  --kubeconfig FILE        default: in-cluster, then KUBECONFIG / ~/.kube/config
  --interval D             re-attest every D (default 30s; keep it well within maxAge)
  --max-failures N         give a node up after N failures in a row (default 5); the command
                           exits 1 when every node is given up (or, with --once, any)
  --once                   one successful round per node, then exit`;

const OPTIONS = {
  key: { type: 'string' },
  node: { type: 'string', multiple: true },
  posture: { type: 'string' },
  'posture-dir': { type: 'string' },
  'posture-command': { type: 'string' },
  'command-timeout': { type: 'string', default: '30s' },
  issuer: { type: 'string', default: 'trustgate-cli' },
  status: { type: 'string', default: 'affirming' },
  vector: { type: 'string' },
  submod: { type: 'string', default: 'node' },
  'verifier-build': { type: 'string', default: 'trustgate-cli' },
  'verifier-developer': { type: 'string', default: 'https://trustgate.dev' },
  'expires-in': { type: 'string' },
  alg: { type: 'string' },
  kubeconfig: { type: 'string' },
  interval: { type: 'string', default: '30s' },
  'max-failures': { type: 'string', default: '5' },
  once: { type: 'boolean', default: false },
} as const;

const POSTURE_EXTENSIONS = ['.json', '.yaml', '.yml'];
const COMMAND_OUTPUT_LIMIT = 1 << 20;

function durationFlag(name: string, value: string, min = 1): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < min) throw new UsageError(`--${name} ${value} is not a duration`);
  return ms;
}

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>;

/** Where each node's posture comes from. */
type Source = (node: string, nonce: string | undefined) => Promise<Record<string, unknown>>;

async function postureSource(v: Values): Promise<{ source: Source; nodes: string[] }> {
  const given = [v.posture, v['posture-dir'], v['posture-command']].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new UsageError('give exactly one of --posture, --posture-dir, --posture-command');
  }
  let nodes = v.node ?? [];
  if (v.posture !== undefined) {
    const file = v.posture;
    return { nodes, source: () => readObject(file, 'posture') };
  }
  if (v['posture-dir'] !== undefined) {
    const dir = v['posture-dir'];
    const files = await readdir(dir).catch(() => {
      throw new UsageError(`--posture-dir ${dir}: cannot read the directory`);
    });
    // ConfigMap mounts hold ..data symlinks and dot-directories: only <node>.<ext> counts.
    const byNode = new Map<string, string>();
    for (const f of files) {
      const ext = path.extname(f);
      if (!f.startsWith('.') && POSTURE_EXTENSIONS.includes(ext))
        byNode.set(path.basename(f, ext), f);
    }
    if (nodes.length === 0) nodes = [...byNode.keys()].sort();
    return {
      nodes,
      source: (node) => {
        const f = byNode.get(node);
        if (!f) throw new Error(`no posture file for ${node} in ${dir}`);
        return readObject(path.join(dir, f), 'posture');
      },
    };
  }
  const command = v['posture-command'] as string;
  const timeout = durationFlag('command-timeout', v['command-timeout'] as string);
  const run = promisify(execFile);
  return {
    nodes,
    source: async (node, nonce) => {
      const { stdout } = await run('sh', ['-c', command], {
        timeout,
        maxBuffer: COMMAND_OUTPUT_LIMIT,
        env: { ...process.env, TRUSTGATE_NODE: node, TRUSTGATE_NONCE: nonce ?? '' },
      }).catch((err: Error & { code?: unknown }) => {
        throw new Error(`--posture-command failed for ${node}: ${err.message.split('\n')[0]}`);
      });
      const doc = yaml.load(stdout);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        throw new Error(`--posture-command printed no posture object for ${node}`);
      }
      return doc as Record<string, unknown>;
    },
  };
}

/** The token's claims from the posture document, the nonce trustgate expects and the flags. */
export function earResultFor(
  node: string,
  doc: Record<string, unknown>,
  nonce: string | undefined,
  v: Pick<
    Values,
    'issuer' | 'status' | 'vector' | 'submod' | 'verifier-build' | 'verifier-developer'
  >,
  nowMs: number,
  expiresInMs?: number,
): EarResult {
  const flagsVerifier = {
    build: v['verifier-build'] as string,
    developer: v['verifier-developer'] as string,
  };
  let result: Omit<EarResult, 'iat' | 'exp'> & { iat?: number };
  if (isEarAppraisal(doc)) {
    const mapped = mapEarAppraisal(doc);
    if (mapped.nonce !== undefined && nonce !== undefined && mapped.nonce !== nonce) {
      throw new Error(
        `${node}: the appraisal's eat_nonce is not the nonce trustgate expects; challenge the verifier with TRUSTGATE_NONCE`,
      );
    }
    result = {
      node,
      issuer: v.issuer as string,
      verifierId: mapped.verifierId ?? flagsVerifier,
      nonce: nonce ?? mapped.nonce,
      submods: mapped.submods,
      posture: mapped.posture,
      // The appraisal's own time: a re-signed old appraisal must not look fresh.
      iat: mapped.iat === undefined ? undefined : Math.min(mapped.iat, Math.floor(nowMs / 1000)),
    };
  } else {
    result = {
      node,
      issuer: v.issuer as string,
      verifierId: flagsVerifier,
      nonce,
      submods: {
        [v.submod as string]: {
          'ear.status': v.status as string,
          ...(v.vector ? { 'ear.trustworthiness-vector': parseVector(v.vector) } : {}),
        },
      },
      posture: doc,
    };
  }
  const iat = result.iat ?? Math.floor(nowMs / 1000);
  const exp = expiresInMs === undefined ? undefined : iat + Math.ceil(expiresInMs / 1000);
  return { ...result, iat, ...(exp === undefined ? {} : { exp }) };
}

function describe(e: PublishEvent): string {
  switch (e.type) {
    case 'published':
      return `${e.node}: published`;
    case 'failed':
      return `${e.node}: failed (${e.failures} in a row), retrying in ${Math.round(e.retryInMs / 100) / 10}s: ${e.error}`;
    case 'gave-up':
      return `${e.node}: gave up after ${e.failures} failures in a row: ${e.error}`;
  }
}

async function publish(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(args, OPTIONS, USAGE);
  if (!v.key) throw new UsageError(`--key is required\n\n${USAGE}`);
  if (!(EAR_STATUSES as readonly string[]).includes(v.status as string)) {
    throw new UsageError(`--status ${v.status}: use one of ${EAR_STATUSES.join(', ')}`);
  }
  if (v.vector) parseVector(v.vector);
  const maxFailures = Number(v['max-failures']);
  if (!Number.isInteger(maxFailures) || maxFailures < 1) {
    throw new UsageError(`--max-failures ${v['max-failures']} is not a positive integer`);
  }
  const intervalMs = durationFlag('interval', v.interval as string);
  const expiresInMs =
    v['expires-in'] === undefined ? undefined : durationFlag('expires-in', v['expires-in']);
  const { source, nodes } = await postureSource(v);
  if (nodes.length === 0) throw new UsageError('no nodes: give --node or files in --posture-dir');
  const key: SigningKey = await loadPrivateKey(v.key, v.alg);
  const client = new KubeClient(await loadClusterAccess(v.kubeconfig));

  const steps = {
    async publish(node: string) {
      const nonce = (await readAttestation(client, node))?.status?.nonce?.value;
      const doc = await source(node, nonce);
      const result = earResultFor(node, doc, nonce, v, Date.now(), expiresInMs);
      await applyAttestation(client, node, await signEar(result, key));
    },
  };
  const opts: PublishOptions = { nodes, intervalMs, maxFailures, once: v.once };
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const outcome = await runPublisher(
      opts,
      steps,
      (e) => (e.type === 'published' ? io.stdout : io.stderr)(`attest publish: ${describe(e)}\n`),
      stop.signal,
    );
    if (!publishFailed(opts, outcome)) return EXIT.ok;
    io.stderr(
      `error: attest publish: cannot attest ${outcome.gaveUp.map((g) => g.node).join(', ')}\n`,
    );
    return EXIT.failed;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    client.close();
  }
}

export const command: Command = { usage: USAGE, run: publish };
