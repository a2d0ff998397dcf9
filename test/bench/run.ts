// `npm run bench -- <name> [args]`: benchmarks are scripts that print figures, the
// last line one JSON object. Each lives in test/bench/<name>.ts and exports `run(args)`.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const available = (await readdir(here))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3));
const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(2);
}
// Interrupted: exit normally, so 'exit' hooks stop the trustgate processes a bench started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const bench = (await import(path.join(here, `${name}.ts`))) as {
  run(args: string[]): Promise<void>;
};
await bench.run(args);
