// `trustgate version`: the build's version, commit and Node version, as text or JSON, and a
// command that loads nothing but its own small module.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runCaptured } from '../../operator/cli/main.ts';
import { buildInfo } from '../../operator/runtime/build-info.ts';
import { importGraph, ROOT } from '../support/import-graph.ts';

const pkgVersion = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

const cli = (...argv: string[]) => runCaptured(argv);

describe('buildInfo', () => {
  it("reads package.json's version, the commit from TRUSTGATE_COMMIT, and Node's version", () => {
    expect(buildInfo({ TRUSTGATE_COMMIT: ' 0a1b2c3 ' })).toEqual({
      version: pkgVersion,
      commit: '0a1b2c3',
      node: process.version,
    });
    expect(buildInfo({}).commit).toBe('unknown');
  });
});

describe('trustgate version', () => {
  it('prints text by default and JSON with -o json; --version is the same command', async () => {
    const text = await cli('version');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toBe(
      `trustgate ${pkgVersion}\ncommit: ${buildInfo().commit}\nnode: ${process.version}\n`,
    );
    const json = await cli('--version', '-o', 'json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(buildInfo());
  });

  it('refuses other formats and flags with exit 2', async () => {
    expect(await cli('version', '-o', 'yaml')).toMatchObject({
      code: 2,
      stderr: 'error: -o yaml: use text or json\n',
    });
    expect((await cli('version', '--bogus')).code).toBe(2);
  });

  it('is listed in --help and loads no package', async () => {
    expect((await cli('--help')).stdout).toMatch(/^ {2}version +Print the version/m);
    const { files, packages } = importGraph(['operator/cli/commands/version.ts']);
    expect([...files].sort()).toEqual([
      'operator/cli/commands/version.ts',
      'operator/cli/io.ts',
      'operator/runtime/build-info.ts',
    ]);
    expect([...packages.keys()]).toEqual([]);
  });
});
