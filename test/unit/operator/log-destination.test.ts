import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import {
  type BatchedLogDestination,
  batchedLogDestination,
} from '../../../operator/runtime/log-destination.ts';

const dirs: string[] = [];
const destinations: BatchedLogDestination[] = [];
afterEach(async () => {
  // Closed before the files go: an open destination keeps its descriptor and timer alive.
  for (const d of destinations.splice(0)) d.end();
  await new Promise((r) => setTimeout(r, 50));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function destination(dest: number | string): BatchedLogDestination {
  const d = batchedLogDestination(dest);
  destinations.push(d);
  return d;
}

function logFile() {
  const dir = mkdtempSync(path.join(tmpdir(), 'trustgate-log-'));
  dirs.push(dir);
  return path.join(dir, 'out.log');
}

describe('batchedLogDestination', () => {
  it('writes every pino line, in order and intact (multi-byte text too), once flushed', async () => {
    const file = logFile();
    const dest = destination(file);
    const logger = pino({ level: 'info' }, dest);
    // More than one batch (4 KB) and more than sonic-boom writes at once (16 KB).
    for (let i = 0; i < 500; i++)
      logger.info({ i, user: `jürgen-${'é'.repeat(i % 7)}` }, 'décision');
    await new Promise<void>((resolve, reject) =>
      dest.flush((err) => (err ? reject(err) : resolve())),
    );
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(500);
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line) as { i: number; user: string; msg: string };
      expect(parsed).toMatchObject({ i, user: `jürgen-${'é'.repeat(i % 7)}`, msg: 'décision' });
    });
  });

  it('holds short output back until flushSync (an open descriptor, as stdout is)', () => {
    const file = logFile();
    const fd = openSync(file, 'w');
    const dest = destination(fd);
    pino({ level: 'info' }, dest).info('one line');
    expect(readFileSync(file, 'utf8')).toBe('');
    dest.flushSync();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ msg: 'one line' });
    // end() in afterEach closes the descriptor, as it would stdout's.
  });

  it('writes a lone line within a few seconds without a flush (a quiet webhook)', async () => {
    const file = logFile();
    const logger = pino({ level: 'info' }, destination(file));
    logger.info({ uid: 'a' }, 'decision');
    const deadline = Date.now() + 5000;
    let text = '';
    while (Date.now() < deadline && !text.includes('"uid":"a"')) {
      await new Promise((r) => setTimeout(r, 100));
      text = readFileSync(file, 'utf8');
    }
    expect(text).toContain('"uid":"a"');
  });
});
