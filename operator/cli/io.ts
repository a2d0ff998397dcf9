// What a CLI command may touch, so commands run in-process in tests.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in how the command was called or in its input: exit 2, message, no stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command's code; its name and summary are listed in commands/index.ts. */
export interface Command {
  usage: string;
  run(args: string[], io: CliIO): Promise<number>;
}

/** A command's --flags (no positionals); a bad or unknown flag is a usage error with `usage`. */
export function parseFlags<const T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}
