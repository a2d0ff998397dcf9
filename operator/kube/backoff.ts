// Exponential backoff with jitter, and a sleep that a stop can cut short.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Random source in [0,1); injectable for tests. */
  random?: () => number;
}

/** Delays double from initialMs up to maxMs; each is jittered to 50–100 % so peers spread out. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 200;
    this.maxMs = opts.maxMs ?? 30_000;
    this.#random = opts.random ?? Math.random;
  }

  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling * (0.5 + this.#random() * 0.5));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after ms, or early (without throwing) when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
