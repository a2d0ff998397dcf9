// Static checks of the Dockerfile (docker cannot run in CI): a non-root runtime, only
// production dependencies, and every module `trustgate` loads at start-up inside the image.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { importGraph } from '../support/import-graph.ts';
import { ROOT } from './support.ts';

interface Stage {
  from: string;
  instructions: { op: string; args: string }[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined). */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') stages.push({ from: args, instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const dockerfile = async () =>
  parseDockerfile(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8'));
const COPIED_DIRS = ['bin', 'operator', 'webhook', 'crds'];

describe('Dockerfile', () => {
  it('is multi-stage on a Node 24 base pinned to an exact version', async () => {
    const text = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
    const base = text.match(/^ARG NODE_IMAGE=(\S+)$/m)?.[1];
    expect(base).toMatch(/^node:24\.\d+\.\d+-[a-z]+-slim$/);
    const stages = await dockerfile();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^\$\{NODE_IMAGE\}( AS \w+)?$/);
  });

  it('installs production dependencies only, from the lock file', async () => {
    const runs = (await dockerfile()).flatMap((s) =>
      s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args),
    );
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /npm (install|i)\b/.test(r))).toBe(false);
  });

  it('runs as uid 65532 with bin/trustgate.js as entry point', async () => {
    const final = (await dockerfile()).at(-1) as Stage;
    const last = (op: string) => final.instructions.filter((i) => i.op === op).at(-1)?.args;
    expect(last('USER')).toBe('65532:65532');
    expect(JSON.parse(last('ENTRYPOINT') ?? '')).toEqual([
      'node',
      '--max-semi-space-size=8',
      'bin/trustgate.js',
    ]);
    expect(JSON.parse(last('CMD') ?? '')).toEqual(['run']);
  });

  it('fills the compile cache as the runtime user, with the ENTRYPOINT Node flags', async () => {
    const final = (await dockerfile()).at(-1) as Stage;
    const at = (test: (i: { op: string; args: string }) => boolean) =>
      final.instructions.findIndex(test);
    const entry = JSON.parse(
      final.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args ?? '[]',
    ) as string[];
    const user = at((i) => i.op === 'USER' && i.args === '65532:65532');
    const owned = at(
      (i) => i.op === 'RUN' && /chown 65532:65532 node_modules\/\.cache/.test(i.args),
    );
    const warm = at((i) => i.op === 'RUN' && i.args.startsWith(`${entry.join(' ')} run --help`));
    // Node reads only the cache of the uid it runs as: filled by root, it would go unused.
    expect(owned).toBeGreaterThan(-1);
    expect(owned).toBeLessThan(user);
    expect(warm).toBeGreaterThan(user);
    expect(final.instructions[warm]?.args).toMatch(/chmod -R a-w node_modules\/\.cache/);
  });

  it('copies only what runs into the final image', async () => {
    const final = (await dockerfile()).at(-1) as Stage;
    const sources = final.instructions
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.sort()).toEqual([...COPIED_DIRS, 'package-lock.json', 'package.json'].sort());
  });

  it('sends only those files to the build context (.dockerignore allow-list)', async () => {
    const lines = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).toBe('*');
    expect(lines.slice(1).sort()).toEqual(
      [...COPIED_DIRS.map((d) => `!${d}/`), '!package-lock.json', '!package.json'].sort(),
    );
  });
});

describe('the image contents', () => {
  it('hold every module bin/trustgate.js loads at start-up, and its packages are production dependencies', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    // Static and dynamic imports alike: a command or fallback loaded on demand must be there.
    const { files, packages } = importGraph(['bin/trustgate.js']);
    const outside = [...files].filter((f) => !COPIED_DIRS.includes(f.split(path.sep)[0] ?? ''));
    const notProduction = [...packages]
      .filter(([pkg]) => !(pkg in manifest.dependencies))
      .map(([pkg, file]) => `${file} imports ${pkg}`);
    expect(files).toContain('operator/runtime/runtime.ts');
    expect(outside).toEqual([]);
    expect(notProduction).toEqual([]);
  });
});
