import { COMMANDS as commands } from './commands/index.ts';
import { type CliIO, EXIT, UsageError } from './io.ts';

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  return [
    'trustgate: zero-trust endpoint control for Kubernetes',
    '',
    'Usage: trustgate <command> [flags]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `trustgate <command> --help` for the flags of one command.',
    '',
  ].join('\n');
}

/** main() with what it printed collected: the CLI in-process (tests, the demo). */
export async function runCaptured(
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}

/** Runs the CLI; returns the exit code. Never throws for bad input. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  // `trustgate --version` is what people type first; it is `trustgate version`.
  if (argv[0] === '--version') argv = ['version', ...argv.slice(1)];
  const [first, second] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(help());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  // Two-word commands ("keys generate") take precedence over one-word ones.
  const twoWord = commands.find((c) => c.name === `${first} ${second ?? ''}`);
  const entry = twoWord ?? commands.find((c) => c.name === first);
  if (!entry) {
    io.stderr(`error: unknown command "${first}"\n\n${help()}`);
    return EXIT.usage;
  }
  const rest = argv.slice(twoWord ? 2 : 1);
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    // Unexpected failures still end in one readable line, never a stack trace.
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.usage;
  }
}
