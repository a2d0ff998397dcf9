// `trustgate validate -f FILE...`: checks trustgate resources in YAML or JSON files the
// way the API server would (CRD schema with defaults, strict unknown fields, CEL rules)
// plus the semantic checks the webhook applies. One line per problem.

import { semanticErrors } from '../../api/semantic.ts';
import type { FieldError } from '../../schema/errors.ts';
import { defaultedResource, isTrustgateKind } from '../../schema/resources.ts';
import { type CliIO, type Command, EXIT, UsageError } from '../io.ts';
import { expand, readDocuments } from '../read-input.ts';

const USAGE = `Usage: trustgate validate -f FILE [-f FILE...]

Checks every trustgate resource (NodeAttestation, EndpointTrustPolicy, WorkloadGrant,
TrustExemption) in
the files against the CRD schemas (defaults, unknown fields, CEL rules) and the semantic
checks of the admission webhook. Files may hold several YAML documents; a directory
means its *.yaml, *.yml and *.json files; "-" reads standard input. Other kinds are skipped.

Prints "OK kind/name" per valid resource and "FILE: kind/name: field: message" per problem.
Exit status: 0 all valid, 1 something invalid, 2 usage error or unreadable input.`;

function parseArgs(args: string[]): string[] {
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-f' || a === '--filename') {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a file name`);
      files.push(...v.split(',').filter(Boolean));
    } else if (a.startsWith('--filename=')) {
      files.push(...a.slice('--filename='.length).split(',').filter(Boolean));
    } else {
      throw new UsageError(`unexpected argument "${a}"\n\n${USAGE}`);
    }
  }
  if (files.length === 0) throw new UsageError(`no input: give -f FILE\n\n${USAGE}`);
  return files;
}

function identify(doc: unknown): string {
  const o = doc as { kind?: unknown; metadata?: { name?: unknown } };
  const name = typeof o?.metadata?.name === 'string' ? o.metadata.name : '<unnamed>';
  return `${String(o?.kind)}/${name}`;
}

/** Schema and semantic problems of one trustgate resource. */
export async function validateResource(doc: unknown): Promise<FieldError[]> {
  const { object, errors } = defaultedResource(doc);
  // A field the schema already faulted is not reported twice.
  const faulted = new Set(errors.map((e) => e.field));
  const semantic = (await semanticErrors(object)).filter((e) => !faulted.has(e.field));
  return [...errors, ...semantic];
}

async function run(args: string[], io: CliIO): Promise<number> {
  const inputs = parseArgs(args);
  const files = (await Promise.all(inputs.map(expand))).flat();
  // Read everything first: unreadable input is a usage error, reported before any result.
  const perFile = await Promise.all(
    files.map(async (f) => ({ file: f, docs: await readDocuments(f) })),
  );
  let invalid = false;
  let checked = 0;
  for (const { file, docs } of perFile) {
    const label = file === '-' ? '<stdin>' : file;
    for (const doc of docs) {
      if (doc === null || doc === undefined) continue;
      const o = doc as { apiVersion?: unknown };
      const looksTrustgate =
        typeof o.apiVersion === 'string' && o.apiVersion.startsWith('trustgate.dev/');
      if (!isTrustgateKind(doc) && !looksTrustgate) continue;
      checked++;
      const errors = await validateResource(doc);
      if (errors.length === 0) {
        io.stdout(`OK ${identify(doc)}\n`);
        continue;
      }
      invalid = true;
      for (const e of errors) {
        io.stdout(`${label}: ${identify(doc)}: ${e.field ? `${e.field}: ` : ''}${e.message}\n`);
      }
    }
  }
  if (checked === 0) io.stderr('warning: no trustgate resources found in the input\n');
  return invalid ? EXIT.failed : EXIT.ok;
}

export const command: Command = {
  usage: USAGE,
  run,
};
