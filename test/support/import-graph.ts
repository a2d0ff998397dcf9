// The import graph of the project's own modules, read from their source: static and
// dynamic import specifiers (type-only imports are erased by Node, so they do not count).
// Used to check what the product and its image load.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Specifier {
  spec: string;
  dynamic: boolean;
}

/** Project-relative source files under `dir` (.ts, .js, .mjs; no .d.ts). */
export function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(rel);
    return /\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Static and dynamic import specifiers of a project-relative file. */
export function specifiers(file: string): Specifier[] {
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  const found: Specifier[] = [];
  const staticImport = /^\s*(import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(staticImport))
    found.push({ spec: m[2] as string, dynamic: false });
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    found.push({ spec: m[1] as string, dynamic: true });
  return found;
}

/** The project-relative file a relative specifier names, or the package a bare one names. */
export function target(from: string, spec: string): { file?: string; pkg?: string } {
  if (spec.startsWith('.')) return { file: path.normalize(path.join(path.dirname(from), spec)) };
  if (spec.startsWith('node:')) return {};
  const parts = spec.split('/');
  return { pkg: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] };
}

/** Files and packages (with a file that imports each) reachable through accepted imports. */
export function importGraph(
  roots: string[],
  follow: (from: string, s: Specifier) => boolean = () => true,
): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...roots];
  for (let file = queue.shift(); file; file = queue.shift()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const s of specifiers(file)) {
      if (!follow(file, s)) continue;
      const t = target(file, s.spec);
      if (t.file) queue.push(t.file);
      if (t.pkg && !packages.has(t.pkg)) packages.set(t.pkg, file);
    }
  }
  return { files, packages };
}
