// `trustgate version`: which build this is, for bug reports and rollout checks.
import { buildInfo } from '../../runtime/build-info.ts';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';

const USAGE = `Usage: trustgate version [-o text|json]

Prints trustgate's version, the git commit it was built from (TRUSTGATE_COMMIT; the image
sets it from its build arg) and the Node version. The same values label the
trustgate_build_info metric of \`trustgate run\`.

  -o, --output FORMAT    text (default) or json`;

async function run(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(
    args,
    { output: { type: 'string', short: 'o', default: 'text' } },
    USAGE,
  );
  const output = values.output as string;
  if (output !== 'text' && output !== 'json') {
    throw new UsageError(`-o ${output}: use text or json`);
  }
  const info = buildInfo();
  io.stdout(
    output === 'json'
      ? `${JSON.stringify(info)}\n`
      : `trustgate ${info.version}\ncommit: ${info.commit}\nnode: ${info.node}\n`,
  );
  return EXIT.ok;
}

export const command: Command = { usage: USAGE, run };
