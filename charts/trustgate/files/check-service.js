// The chart's `helm test` (templates/tests/check-service.yaml runs it with node --eval):
// through trustgate's Service, /readyz answers 200 and the webhook port completes a TLS
// handshake with a certificate that names the Service. Exits 1 with the reason otherwise.
// TRUSTGATE_ADDRESS, when set, is where to connect instead of the Service's name.
import tls from 'node:tls';

const service = process.env.TRUSTGATE_SERVICE;
const address = process.env.TRUSTGATE_ADDRESS || service;
const timeoutMs = 10_000;

async function readyz() {
  const url = `http://${address}:${process.env.METRICS_PORT}/readyz`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.text()).trim();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body}`);
  console.log(`${url}: ${res.status} ${body}`);
}

function webhookCertificate() {
  const port = Number(process.env.WEBHOOK_PORT);
  return new Promise((resolve, reject) => {
    // The CA is not at hand here (it sits beside the private key in the TLS Secret), so
    // the chain is not verified; the API server verifies it against caBundle.
    const socket = tls.connect(
      { host: address, port, servername: service, rejectUnauthorized: false },
      () => {
        const names = (socket.getPeerCertificate().subjectaltname ?? '').split(', ');
        socket.end();
        if (names.includes(`DNS:${service}`)) {
          console.log(`webhook ${address}:${port}: TLS certificate names ${service}`);
          resolve();
        } else
          reject(new Error(`the webhook certificate names ${names.join(' ')}, not ${service}`));
      },
    );
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`webhook ${address}:${port}: no TLS handshake`)),
    );
    socket.on('error', reject);
  });
}

try {
  await readyz();
  await webhookCertificate();
} catch (err) {
  console.error(`trustgate check failed: ${err.message}`);
  process.exit(1);
}
