// The demo drives the control plane with the real kubectl, as an admin would.
import { spawn } from 'node:child_process';
import { ensureTools } from '../tools.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Kubectl = (args: string[], input?: string) => Promise<KubectlResult>;

export async function kubectlFor(kubeconfigPath: string): Promise<Kubectl> {
  const { kubectl } = await ensureTools();
  return (args, input) =>
    new Promise((resolve, reject) => {
      const child = spawn(kubectl, ['--kubeconfig', kubeconfigPath, ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
}
