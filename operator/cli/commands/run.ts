// `trustgate run`: the long-running process (webhook on every replica, controllers on the
// leader). Runs until SIGTERM or SIGINT, then shuts down gracefully and exits 0.
import { parseRunFlags, RUN_USAGE } from '../../runtime/flags.ts';
import { startRuntime } from '../../runtime/runtime.ts';
import { type CliIO, type Command, EXIT } from '../io.ts';

export const command: Command = {
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
    // A shutdown that hangs (an API server that stopped answering) must not outlive the
    // pod's termination grace period silently: give up after 25 s, or at a second signal.
    const forceExit = (why: string) => {
      process.stderr.write(`trustgate: ${why}; exiting without finishing the shutdown\n`);
      process.exit(EXIT.failed);
    };
    const deadline = setTimeout(() => forceExit('shutdown took longer than 25s'), 25_000);
    deadline.unref();
    process.once('SIGTERM', () => forceExit('second signal'));
    process.once('SIGINT', () => forceExit('second signal'));
    await runtime.stop();
    clearTimeout(deadline);
    return EXIT.ok;
  },
};
