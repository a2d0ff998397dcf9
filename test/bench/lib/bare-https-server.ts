// The admission bench's baseline: a bare node:https server that only parses each
// AdmissionReview and answers allowed. A child process like `trustgate run`, started with
// the same Node flags: reads {cert, key} (PEM) as JSON on stdin, prints its port.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

const tls = JSON.parse(await text(process.stdin)) as { cert: string; key: string };
const server = https.createServer(tls, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      request: { uid: string };
    };
    const out = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true },
    });
    // Content-Length as trustgate sends it (without it node answers chunked, which costs more).
    res
      .writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(out),
      })
      .end(out);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
