#!/usr/bin/env node
// Entry point of the `trustgate` command. Node 24 runs the TypeScript sources directly.
import { main } from '../operator/cli/main.ts';

process.exitCode = await main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
