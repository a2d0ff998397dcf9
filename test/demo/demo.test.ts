// `npm run demo` end to end: the story must run to its end and exit 0. On the real tier
// (KUBEBUILDER_ASSETS) it is `npm run demo -- --real`, the same story on kube-apiserver.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { testTier } from '../support/cluster.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('npm run demo', () => {
  it('walks through install, attestation, admission, drift and recovery', async () => {
    const args = testTier() === 'real' ? ['--real'] : [];
    const child = spawn(process.execPath, [path.join(root, 'hack/demo/index.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(out).not.toContain('demo failed');
    expect(out).toContain(
      args.length ? 'running on a real kube-apiserver' : 'running on the embedded sandbox',
    );
    expect(code).toBe(0);
    expect(out).toMatch(
      /runner-b.*\n.*denied the request: node runner-2: posture diskEncryption is false/,
    );
    expect(out).toMatch(
      /intruder.*\n.*denied the request: .*no WorkloadGrant names the service account/,
    );
    expect(out).toMatch(
      /TokenRequest for runner-a\n.*denied the request: node runner-1: posture edr\.healthy is false/,
    );
    expect(out).toContain('runner-a is gone and its token no longer passes a TokenReview');
    expect(out).toMatch(/drift to revocation: \d+ ms/);
    expect(out).toContain('runner-1 is trusted and schedulable again');
  }, 180_000);
});
