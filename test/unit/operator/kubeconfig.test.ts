import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { loadClusterAccess } from '../../../operator/kube/kubeconfig.ts';

async function kubeconfig(user: object, cluster: object = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tg-kubeconfig-'));
  const file = path.join(dir, 'config');
  await writeFile(
    file,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ctx',
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

async function applied(file: string): Promise<https.RequestOptions> {
  const access = await loadClusterAccess(file);
  const options: https.RequestOptions = {};
  await access.applyToHTTPSOptions(options);
  return options;
}

describe('loadClusterAccess', () => {
  it('reads server, CA and a bearer token', async () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const file = await kubeconfig(
      { token: 'tok-1' },
      { 'certificate-authority-data': ca.toString('base64') },
    );
    const access = await loadClusterAccess(file);
    expect(access.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    const options = await applied(file);
    expect(options.headers).toEqual({ Authorization: 'Bearer tok-1' });
    expect(options.ca).toEqual(ca);
    expect(options.rejectUnauthorized).toBe(true);
  });

  it('resolves client certificate files relative to the kubeconfig', async () => {
    const file = await kubeconfig(
      { 'client-certificate': 'client.crt', 'client-key': 'client.key' },
      { 'insecure-skip-tls-verify': true },
    );
    await writeFile(path.join(path.dirname(file), 'client.crt'), 'CERT');
    await writeFile(path.join(path.dirname(file), 'client.key'), 'KEY');
    const options = await applied(file);
    expect(options.cert?.toString()).toBe('CERT');
    expect(options.key?.toString()).toBe('KEY');
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.headers).toBeUndefined();
  });

  it('runs an exec credential plugin and passes its token', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tg-exec-'));
    const plugin = path.join(dir, 'plugin.sh');
    await writeFile(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"'"$TG_TOKEN"'"}}'\n`,
    );
    await chmod(plugin, 0o755);
    const file = await kubeconfig({
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: plugin,
        env: [{ name: 'TG_TOKEN', value: 'from-plugin' }],
      },
    });
    expect((await applied(file)).headers).toEqual({ Authorization: 'Bearer from-plugin' });
  });

  it('hands kubeconfigs it does not handle to client-node', async () => {
    const file = await kubeconfig({ username: 'admin', password: 'secret' });
    const access = await loadClusterAccess(file);
    expect(access.constructor.name).toBe('KubeConfig');
  });

  it('names what is missing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tg-kubeconfig-'));
    const file = path.join(dir, 'config');
    await writeFile(file, yaml.dump({ 'current-context': 'nope', contexts: [] }));
    await expect(loadClusterAccess(file)).rejects.toThrow('kubeconfig: context "nope" not found');
  });
});
