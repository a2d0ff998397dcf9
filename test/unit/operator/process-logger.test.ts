// The lines `trustgate run` writes: what log pipelines for Kubernetes controllers parse.
import { describe, expect, it, jest } from '@jest/globals';
import { processLogger } from '../../../operator/runtime/runtime.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = processLogger(level, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('processLogger', () => {
  it('writes the level as a label and the time as ISO-8601 UTC', () => {
    const { logger, lines } = capture('info');
    const before = Date.now();
    logger.child({ part: 'webhook' }).warn({ uid: 'u1' }, 'admission decision');
    logger.info('started');
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    const [line] = lines;
    expect(line).toMatchObject({ part: 'webhook', uid: 'u1', msg: 'admission decision' });
    expect(line?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(line?.time as string)).toBeGreaterThanOrEqual(before - 1);
  });

  it('gives every line the time it was written, to the millisecond', () => {
    const { logger, lines } = capture('info');
    const times = [
      '2026-03-01T09:59:59.999Z',
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T10:00:00.007Z',
      '2026-03-01T10:00:00.042Z',
      '2026-03-01T10:00:01.500Z',
      '2026-03-01T09:00:00.000Z',
    ];
    const now = jest.spyOn(Date, 'now');
    try {
      for (const time of times) {
        now.mockReturnValue(Date.parse(time));
        logger.info('tick');
      }
    } finally {
      now.mockRestore();
    }
    expect(lines.map((l) => l.time)).toEqual(times);
  });

  it('keeps the level threshold', () => {
    const { logger, lines } = capture('warn');
    logger.info('dropped');
    logger.error('kept');
    expect(lines).toEqual([expect.objectContaining({ level: 'error', msg: 'kept' })]);
  });
});
