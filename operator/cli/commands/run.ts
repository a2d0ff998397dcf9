// `trustgate run`: the long-running process (webhook on every replica, controllers on the
// leader). Runs until SIGTERM or SIGINT, then shuts down gracefully and exits 0.
import { parseRunFlags, RUN_USAGE } from '../../runtime/flags.ts';
import { startRuntime } from '../../runtime/runtime.ts';
import { type CliIO, type Command, EXIT } from '../io.ts';

export const runCommand: Command = {
  name: 'run',
  summary: 'Run the admission webhook and, on the elected leader, the controllers',
  usage: RUN_USAGE,
  async run(args: string[], _io: CliIO): Promise<number> {
    const options = parseRunFlags(args);
    const runtime = await startRuntime(options);
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await runtime.stop();
    return EXIT.ok;
  },
};
