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
  /** The first output line that matched readyPattern, with its groups. */
  ready: RegExpMatchArray;
  stop(): Promise<void>;
}

/** Starts `trustgate <args>` and resolves once a line of its output matches readyPattern. */
export function startTrustgate(
  args: string[],
  opts: { logFile: string; readyPattern: RegExp; timeoutMs?: number; env?: NodeJS.ProcessEnv },
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
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new DemoFailure(`trustgate ${args[0]} did not start in time; see ${opts.logFile}`));
    }, opts.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        const match = line.match(opts.readyPattern);
        if (match) {
          clearTimeout(timer);
          buffered = '';
          resolve({ child, logFile: opts.logFile, ready: match, stop });
          return;
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new DemoFailure(
          `trustgate ${args[0]} exited (${code ?? signal}) before it was ready; see ${opts.logFile}`,
        ),
      );
    });
  });
}
