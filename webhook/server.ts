// The HTTP layer of the admission webhook: express 5 on node:https. It reads the body
// (bounded), hands it to the codec and the handlers, writes the AdmissionReview response,
// and records one log line and the metrics per review. Anything malformed is answered
// 400 with a reason and counted; the server keeps serving. The serving certificate can be
// replaced at any time (setCertificate) without dropping connections.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { type AdmissionConfig, admit, DEFAULT_ADMISSION_CONFIG } from './admit.ts';
import type { AdmissionCaches } from './caches.ts';
import {
  type AdmissionRequest,
  admissionResponse,
  decodeAdmissionReview,
  deny,
  ReviewDecodeError,
  type Verdict,
} from './codec.ts';
import type { AdmissionMetrics } from './metrics.ts';

/** kube-apiserver caps request bodies at 3 MiB; a review of any object trustgate judges is far smaller. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const WEBHOOK_PATH = '/validate';

export interface TlsMaterial {
  cert: string;
  key: string;
}

export interface WebhookServerOptions {
  caches: AdmissionCaches;
  tls: TlsMaterial;
  port: number;
  host?: string;
  logger: Logger;
  metrics: AdmissionMetrics;
  maxBodyBytes?: number;
  /** Clock for decisions (tests). */
  now?: () => number;
  config?: AdmissionConfig;
}

export interface WebhookServer {
  readonly server: https.Server;
  readonly port: number;
  /** Serves new TLS handshakes with this certificate; open connections keep theirs. */
  setCertificate(tls: TlsMaterial): void;
  /** Stops accepting, lets in-flight reviews finish (up to graceMs), then closes. */
  close(graceMs?: number): Promise<void>;
}

const verdictLabel = (v: Verdict) =>
  !v.allowed
    ? 'denied'
    : v.exempted?.length
      ? 'exempted'
      : v.warnings.length > 0
        ? 'warned'
        : 'allowed';
const resourceLabel = (r: AdmissionRequest) =>
  r.subResource ? `${r.resource.resource}/${r.subResource}` : r.resource.resource;

/**
 * Metric children per label set, looked up once: prom-client hashes the label object on
 * every inc/observe otherwise. Label values are bounded (resources, verdicts, policies).
 */
function labelledMetrics(metrics: AdmissionMetrics) {
  const requests = new Map<string, ReturnType<AdmissionMetrics['requests']['labels']>>();
  const durations = new Map<string, ReturnType<AdmissionMetrics['duration']['labels']>>();
  return {
    requests(resource: string, operation: string, verdict: string, policy: string) {
      const key = `${resource}\0${operation}\0${verdict}\0${policy}`;
      let child = requests.get(key);
      if (!child) {
        child = metrics.requests.labels({ resource, operation, verdict, policy });
        requests.set(key, child);
      }
      return child;
    },
    duration(resource: string) {
      let child = durations.get(resource);
      if (!child) {
        child = metrics.duration.labels({ resource });
        durations.set(resource, child);
      }
      return child;
    },
  };
}

/** The express app: POST /validate (and /validate/<anything>, same dispatch on the review's resource). */
export function createWebhookApp(opts: Omit<WebhookServerOptions, 'tls' | 'port' | 'host'>) {
  const { caches, logger, metrics } = opts;
  const now = opts.now ?? Date.now;
  const config = opts.config ?? DEFAULT_ADMISSION_CONFIG;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const counters = labelledMetrics(metrics);
  const badRequest = (res: Response, reason: string, message: string) => {
    metrics.errors.inc({ reason });
    logger.warn({ reason, message }, 'malformed admission request');
    res.status(400).type('application/json').send(JSON.stringify({ reason, message }));
  };

  // Callbacks, not async/await: a pod review is decided synchronously, and the promise and
  // microtask hops per request were a measurable part of the webhook's own cost.
  const review = (req: Request, res: Response, next: NextFunction) => {
    readBody(req, limit, (body) => {
      try {
        answer(res, body)?.catch(next);
      } catch (err) {
        next(err);
      }
    });
  };

  /** Answers one review; returns a Promise only while a trustgate resource's verdict is pending. */
  const answer = (
    res: Response,
    body: Buffer | 'TooLarge' | 'Aborted',
  ): Promise<void> | undefined => {
    if (typeof body === 'string') {
      if (body === 'TooLarge') badRequest(res, 'TooLarge', `body exceeds ${limit} bytes`);
      return; // else the client went away mid-body; nobody to answer
    }
    const started = process.hrtime.bigint();
    let request: AdmissionRequest;
    try {
      request = decodeAdmissionReview(body);
    } catch (err) {
      if (!(err instanceof ReviewDecodeError)) throw err;
      badRequest(res, err.reason, err.message);
      return;
    }
    let decided: Verdict | Promise<Verdict>;
    try {
      decided = admit(request, caches, now(), config);
    } catch (err) {
      decided = handlerFailed(request, err);
    }
    if (decided instanceof Promise) {
      return decided.then(
        (verdict) => respond(res, request, verdict, started),
        (err: unknown) => respond(res, request, handlerFailed(request, err), started),
      );
    }
    respond(res, request, decided, started);
  };

  // A bug must not let a request through or crash the server: deny, and say so.
  const handlerFailed = (request: AdmissionRequest, err: unknown): Verdict => {
    metrics.errors.inc({ reason: 'HandlerError' });
    logger.error(
      { uid: request.uid, err: err instanceof Error ? err.message : String(err) },
      'admission handler failed',
    );
    return deny('trustgate could not decide this request (internal error); it is denied', {
      code: 500,
      statusReason: 'InternalError',
      reasonCodes: ['HandlerError'],
    });
  };

  const respond = (res: Response, request: AdmissionRequest, verdict: Verdict, started: bigint) => {
    // Written with node's own API: one write of headers and body, no express send() work.
    const answer = JSON.stringify(admissionResponse(request.uid, verdict));
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
    const resource = resourceLabel(request);
    const policy = verdict.policies[0] ?? '';
    const outcome = verdictLabel(verdict);
    counters.requests(resource, request.operation, outcome, policy).inc();
    counters.duration(resource).observe(Number(process.hrtime.bigint() - started) / 1e9);
    // The decision line: who asked for what and why; never the object (tokens, secrets).
    // Only the fields that carry something, so the line stays cheap to write.
    const line: Record<string, unknown> = {
      uid: request.uid,
      user: request.userInfo.username,
      resource,
      operation: request.operation,
      verdict: outcome,
    };
    if (request.namespace) line.namespace = request.namespace;
    if (request.name) line.name = request.name;
    if (request.dryRun) line.dryRun = true;
    if (policy) line.policy = policy;
    if (verdict.reasonCodes.length > 0) line.reasons = verdict.reasonCodes;
    if (!verdict.allowed) line.code = verdict.code;
    if (verdict.exempted?.length) {
      line.exempted = verdict.exempted;
      for (const e of verdict.exempted) {
        metrics.exempted.inc({ policy: e.policy, exemption: e.exemption });
      }
    }
    logger.info(line, 'admission decision');
  };

  app.post([WEBHOOK_PATH, `${WEBHOOK_PATH}/*route`], review);
  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .type('application/json')
      .send(
        JSON.stringify({ reason: 'NotFound', message: `POST AdmissionReviews to ${WEBHOOK_PATH}` }),
      );
  });
  // Anything unexpected: counted, logged, answered 500 (the API server applies failurePolicy).
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { message?: string };
    metrics.errors.inc({ reason: 'ServerError' });
    logger.error({ err: e?.message }, 'webhook request failed');
    if (!res.headersSent) res.status(500).type('application/json').send('{"reason":"ServerError"}');
  });
  return app;
}

/**
 * The request body, at most `limit` bytes (a declared or actual larger one is 'TooLarge';
 * a connection that breaks off is 'Aborted'). Read by hand: the body is handed to
 * JSON.parse as is, with nothing in between.
 */
function readBody(
  req: Request,
  limit: number,
  done: (body: Buffer | 'TooLarge' | 'Aborted') => void,
): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    done('TooLarge');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (body: Buffer | 'TooLarge' | 'Aborted') => {
    if (finished) return;
    finished = true;
    done(body);
  };
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) {
      chunks.length = 0;
      req.removeAllListeners('data');
      req.resume();
      finish('TooLarge');
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () =>
    finish(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)),
  );
  req.on('aborted', () => finish('Aborted'));
  req.on('error', () => finish('Aborted'));
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const app = createWebhookApp(opts);
  let draining = false;
  const server = https.createServer(
    {
      cert: opts.tls.cert,
      key: opts.tls.key,
      minVersion: 'TLSv1.2',
    } satisfies SecureContextOptions,
    (req, res) => {
      if (draining) res.setHeader('Connection', 'close');
      app(req, res);
    },
  );
  // The API server keeps connections to webhooks open; reviews are small and must be quick.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.on('tlsClientError', () => opts.metrics.errors.inc({ reason: 'TLSHandshake' }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    setCertificate(tls) {
      server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
    },
    close(graceMs = 10_000) {
      draining = true;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
