// The product's import boundary. operator/, webhook/ and bin/ (what the image ships) never
// import hack/ or test/, and `trustgate run` does not load @kubernetes/client-node: that
// module costs ~80 MiB of RSS, and operator/kube/kubeconfig.ts loads it only, dynamically,
// for a kubeconfig that needs its auth-provider fallback.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { importGraph, ROOT, sourceFiles, specifiers, target } from '../support/import-graph.ts';

const PRODUCT_DIRS = ['operator', 'webhook', 'bin'];
const CLIENT_NODE = '@kubernetes/client-node';
const KUBECONFIG_MODULE = 'operator/kube/kubeconfig.ts';

describe('import boundary', () => {
  const product = PRODUCT_DIRS.flatMap(sourceFiles);

  it('finds the product files and their imports', () => {
    expect(product).toContain('bin/trustgate.js');
    expect(specifiers(KUBECONFIG_MODULE)).toContainEqual({ spec: CLIENT_NODE, dynamic: true });
  });

  it('no product file imports hack/ or test/, statically or dynamically', () => {
    const crossings = product.flatMap((file) =>
      specifiers(file)
        .map((s) => ({ file, ...s, to: target(file, s.spec).file }))
        .filter((s) => s.to && /^(hack|test)\//.test(s.to)),
    );
    expect(crossings).toEqual([]);
  });

  it('only kubeconfig.ts imports client-node, and only dynamically', () => {
    const importers = product.flatMap((file) =>
      specifiers(file)
        .filter((s) => target(file, s.spec).pkg === CLIENT_NODE)
        .map((s) => ({ file, dynamic: s.dynamic })),
    );
    expect(importers).toEqual([{ file: KUBECONFIG_MODULE, dynamic: true }]);
  });

  it('`trustgate run` reaches no other command and not client-node', () => {
    // bin → cli/main → the command list; of the commands' lazy imports, run's alone.
    const { files, packages } = importGraph(['bin/trustgate.js'], (from, s) => {
      if (from === 'operator/cli/commands/index.ts') return s.spec === './run.ts';
      return !(from === KUBECONFIG_MODULE && s.spec === CLIENT_NODE);
    });
    expect(files).toContain('operator/runtime/runtime.ts');
    for (const other of ['keys', 'attest', 'publish', 'evaluate', 'test', 'validate', 'version'])
      expect(files).not.toContain(`operator/cli/commands/${other}.ts`);
    expect(packages.get(CLIENT_NODE)).toBeUndefined();
  });

  it('loading `trustgate run` resolves no module of hack/, test/ or client-node', async () => {
    // The same question asked of Node itself: every module resolved while the CLI loads
    // the run command (up to, not including, starting it).
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } });
      await import('./operator/cli/main.ts');
      const { COMMANDS } = await import('./operator/cli/commands/index.ts');
      await COMMANDS.find((c) => c.name === 'run').load();
      console.log(JSON.stringify(seen));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const urls = JSON.parse(stdout.trim().split('\n').at(-1) as string) as string[];
    expect(urls.some((u) => u.endsWith('/operator/runtime/runtime.ts'))).toBe(true);
    const root = `file://${ROOT}/`;
    const forbidden = urls.filter(
      (u) =>
        u.startsWith(`${root}hack/`) ||
        u.startsWith(`${root}test/`) ||
        u.includes(`/node_modules/${CLIENT_NODE}/`),
    );
    expect(forbidden).toEqual([]);
  });
});
