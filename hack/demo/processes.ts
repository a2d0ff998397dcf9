// Real child processes for the demo: the sandbox control plane and `trustgate run`.
// Their output goes to log files so the story on the terminal stays readable.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DemoFailure } from './narrator.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TRUSTGATE_BIN = path.join(root, 'bin', 'trustgate.js');

export interface RunningProcess {
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/** Starts `trustgate <args>`, its output logged to a file; the caller probes readiness. */
export function startTrustgate(
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv },
): Promise<RunningProcess> {
  const child = spawn(process.execPath, [TRUSTGATE_BIN, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(opts.logFile);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve({ child, logFile: opts.logFile, stop }));
    child.once('error', (err) =>
      reject(new DemoFailure(`cannot start trustgate ${args[0]}: ${err.message}`)),
    );
  });
}
