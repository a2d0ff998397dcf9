// --cert-dir: tls.crt and tls.key (and optionally ca.crt) written by cert-manager or by
// hand. The files are re-read when the directory changes (Kubernetes swaps a ..data
// symlink on Secret updates) and, as a fallback, on a timer; a half-written pair that does
// not load is ignored until the next change.

import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { type CertificateSource, Listeners, type ServingCertificate } from './source.ts';

export interface CertDirOptions {
  dir: string;
  logger?: Logger;
  pollMs?: number;
}

export class CertDirSource implements CertificateSource {
  readonly #opts: CertDirOptions;
  #current: ServingCertificate | undefined;
  #listeners = new Listeners<ServingCertificate>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: CertDirOptions) {
    this.#opts = opts;
  }

  current() {
    return this.#current;
  }

  onChange(listener: (cert: ServingCertificate) => void) {
    return this.#listeners.add(listener);
  }

  async #read(): Promise<ServingCertificate> {
    const file = (name: string) => readFile(path.join(this.#opts.dir, name), 'utf8');
    const [cert, key] = await Promise.all([file('tls.crt'), file('tls.key')]);
    const caBundle = await file('ca.crt').catch(() => undefined);
    createSecureContext({ cert, key }); // throws when the pair does not load
    return { cert, key, caBundle: caBundle || undefined };
  }

  async #reload(): Promise<void> {
    try {
      const next = await this.#read();
      const cur = this.#current;
      if (cur && cur.cert === next.cert && cur.key === next.key && cur.caBundle === next.caBundle)
        return;
      this.#current = next;
      this.#opts.logger?.info(
        { dir: this.#opts.dir },
        'serving certificate loaded from --cert-dir',
      );
      this.#listeners.emit(next);
    } catch (err) {
      this.#opts.logger?.warn(
        { dir: this.#opts.dir, err: (err as Error).message },
        'certificate files not loadable yet',
      );
    }
  }

  async start(): Promise<ServingCertificate> {
    this.#current = await this.#read().catch((err: Error) => {
      throw new Error(`--cert-dir ${this.#opts.dir}: ${err.message}`);
    });
    try {
      this.#watcher = watch(this.#opts.dir, () => void this.#reload());
    } catch {
      // Some filesystems cannot be watched; the timer below still notices changes.
    }
    this.#timer = setInterval(() => void this.#reload(), this.#opts.pollMs ?? 10_000);
    this.#timer.unref();
    return this.#current;
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    if (this.#timer) clearInterval(this.#timer);
  }
}
