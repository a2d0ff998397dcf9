// Where the serving certificate comes from: self-managed (a Secret shared by the replicas)
// or a directory written by cert-manager. Either way the server is told when it changes.

export interface ServingCertificate {
  cert: string;
  key: string;
  /** CA bundle the API server should trust, when known (self-managed, or ca.crt in the dir). */
  caBundle?: string;
}

export interface CertificateSource {
  /** The certificate now; undefined until the first one is loaded. */
  current(): ServingCertificate | undefined;
  /** Called with every new certificate; returns the unsubscribe function. */
  onChange(listener: (cert: ServingCertificate) => void): () => void;
  /** Resolves when a certificate is loaded (rejects if none can be, e.g. bad --cert-dir). */
  start(): Promise<ServingCertificate>;
  stop(): Promise<void>;
}

/** A small listener list shared by the sources. */
export class Listeners<T> {
  #listeners = new Set<(value: T) => void>();
  add(listener: (value: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  emit(value: T): void {
    for (const l of this.#listeners) {
      try {
        l(value);
      } catch {
        // One listener's failure must not stop the others from reloading.
      }
    }
  }
}
