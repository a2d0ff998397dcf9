// Reading resources from manifests for the offline commands (evaluate, test): kinds,
// schema defaults as the API server applies them, and Secret data.
import { defaultedResource } from '../schema/resources.ts';
import type { SecretData } from '../trust/index.ts';
import { UsageError } from './io.ts';

export function kindOf(doc: unknown): string | undefined {
  const kind = (doc as { kind?: unknown })?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** Schema-checks and defaults a trustgate resource; problems are input errors (exit 2). */
export function checked<T>(file: string, doc: unknown): T {
  const { object, errors } = defaultedResource(doc);
  if (errors.length > 0) {
    const name = (doc as { metadata?: { name?: unknown } })?.metadata?.name;
    const lines = errors.map((e) => `  ${e.field ? `${e.field}: ` : ''}${e.message}`).join('\n');
    throw new UsageError(`${file}: ${kindOf(doc)}/${String(name)} is invalid:\n${lines}`);
  }
  return object as T;
}

/** Base64 Secret data from a Secret manifest (data, or stringData as kubectl would encode it). */
export function secretData(doc: Record<string, unknown>): SecretData {
  const data = { ...((doc.data as Record<string, string>) ?? {}) };
  for (const [k, v] of Object.entries((doc.stringData as Record<string, string>) ?? {})) {
    data[k] = Buffer.from(String(v)).toString('base64');
  }
  return data;
}
