// Reading command inputs (files or "-" for stdin): every failure is a UsageError with the
// file name and a short reason, so the CLI exits 2 with one clear line.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import yaml from 'js-yaml';
import { UsageError } from './io.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readText(file: string): Promise<string> {
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}`,
    );
  }
}

/** Every YAML (or JSON) document in a file; a `*List` contributes its items. */
export async function readDocuments(file: string): Promise<unknown[]> {
  const text = await readText(file);
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (err) {
    const where = err instanceof yaml.YAMLException ? ` (line ${err.mark.line + 1})` : '';
    const why = err instanceof yaml.YAMLException ? err.reason : String(err);
    throw new UsageError(`${file}: not valid YAML: ${why}${where}`);
  }
  return docs
    .flatMap((d) => {
      const o = d as { kind?: unknown; items?: unknown };
      const isList =
        o && typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items);
      return isList ? (o.items as unknown[]) : [d];
    })
    .filter((d) => d !== null && d !== undefined);
}

/** The single YAML or JSON document in a file, which must be an object. */
export async function readObject(file: string, what: string): Promise<Record<string, unknown>> {
  const docs = await readDocuments(file);
  const [doc] = docs;
  if (docs.length !== 1 || typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new UsageError(`${file}: expected one ${what} object`);
  }
  return doc as Record<string, unknown>;
}

/** The files a -f argument names: itself, or the manifests in a directory. */
export async function expand(file: string): Promise<string[]> {
  if (file === '-') return [file];
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new UsageError(`${file}: no such file or directory`);
  if (!info.isDirectory()) return [file];
  const names = (await readdir(file)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  return names.map((n) => path.join(file, n));
}
