// A tiny HTTPS admission webhook for tests: its own CA, a serving certificate for the
// names the test asks for, and a handler that decides each AdmissionReview.
import https from 'node:https';
import type { AddressInfo } from 'node:net';

// biome-ignore lint/suspicious/noExplicitAny: tests index freely into the JSON a webhook receives
export type Review = { apiVersion: string; kind: string; request: Record<string, any> };
export type Answer = Record<string, unknown> | 'hang' | { httpStatus: number; body: string };
export type Handler = (review: Review, path: string) => Answer;

export interface TestWebhook {
  url: string;
  port: number;
  caBundle: string;
  received: Review[];
  setHandler(handler: Handler): void;
  close(): Promise<void>;
}

/** Allows with the request uid echoed, plus whatever `response` adds. */
export const respond = (review: Review, response: Record<string, unknown> = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  response: { uid: review.request.uid, allowed: true, ...response },
});

export async function startTestWebhook(hosts = ['127.0.0.1', 'localhost']): Promise<TestWebhook> {
  const { createServingMaterial } = await import('../../../hack/sandbox/tls.ts');
  const tls = await createServingMaterial(hosts);
  const received: Review[] = [];
  let handler: Handler = (review) => respond(review);
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString()) as Review;
      received.push(review);
      const answer = handler(review, req.url ?? '');
      if (answer === 'hang') return;
      if ('httpStatus' in answer) {
        res.writeHead(answer.httpStatus as number, { 'content-type': 'text/plain' });
        res.end(answer.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caBundle: Buffer.from(tls.caPem).toString('base64'),
    received,
    setHandler: (h) => {
      handler = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
