#!/usr/bin/env node
// Entry point of the `trustgate` command. Node 24 runs the TypeScript sources directly.
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Node strips the types of each .ts file as it loads it, with a WebAssembly compiler that
// then stays in memory (about 25 MiB of RSS). The compile cache keeps the stripped code (and
// V8's bytecode) keyed by the source's hash, so a process whose modules are all cached never
// loads that compiler. The image fills the cache, as the user it runs as, when it is built
// (Dockerfile); a read-only cache is still read.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
module.enableCompileCache(
  process.env.NODE_COMPILE_CACHE ?? path.join(root, 'node_modules', '.cache', 'trustgate'),
);
// Imported only now, so that the cache is on when the TypeScript modules load.
const { main } = await import('../operator/cli/main.ts');

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
