// Where trustgate's JSON log lines go: written asynchronously in batches of about 4 KB (and
// at least every second), so an admission decision does not cost its review a system call.
import pino from 'pino';

/** A pino destination that can be flushed (stop, tests). */
export interface BatchedLogDestination extends pino.DestinationStream {
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
  /** Writes what is pending, then closes (and stops the periodic flush). */
  end(): void;
}

/**
 * Batched, asynchronous lines to a file descriptor or path. sonic-boom holds the batch as
 * Buffers: in its default string mode every line measures the UTF-8 length of the whole
 * pending batch, which costs a busy webhook about 1.5 µs per decision line.
 */
export function batchedLogDestination(dest: number | string): BatchedLogDestination {
  const boom = pino.destination({
    dest,
    sync: false,
    minLength: 4096,
    contentMode: 'buffer',
    // A quiet webhook must not hold its last decisions back: flush at least every second.
    periodicFlush: 1000,
  });
  return {
    write: (line: string) => boom.write(Buffer.from(line) as unknown as string),
    flush: (cb) => boom.flush(cb),
    flushSync: () => boom.flushSync(),
    end: () => boom.end(),
  };
}
