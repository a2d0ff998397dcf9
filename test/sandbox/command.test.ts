// `npm run sandbox` (hack/sandbox/main.ts): flags, the kubeconfig it announces, and a clean stop.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runSandbox } from '../../hack/sandbox/main.ts';

describe('npm run sandbox', () => {
  it('writes a kubeconfig to --dir, prints where it is, and stops when told', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tg-sandbox-cmd-'));
    let out = '';
    let release = () => {};
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = runSandbox(
      ['--dir', dir],
      { stdout: (t) => (out += t), stderr: () => {} },
      until,
    );
    const kubeconfig = path.join(dir, 'kubeconfig');
    for (let i = 0; i < 100 && !out.includes('kubeconfig:'); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(out).toContain(`kubeconfig: ${kubeconfig}`);
    expect(await readFile(kubeconfig, 'utf8')).toContain('certificate-authority-data');
    release();
    expect(await running).toBe(0);
  });

  it('refuses bad flags with a usage error', async () => {
    const io = { stdout: () => {}, stderr: () => {} };
    await expect(runSandbox(['--port', 'x'], io)).rejects.toThrow('--port: "x" is not an integer');
  });
});
