// Kubelet credentials on a cluster whose CA key the tests do not hold: the way a kubelet
// bootstraps, a CertificateSigningRequest for system:node:NAME with the
// kubernetes.io/kube-apiserver-client-kubelet signer, approved by the test's admin and
// signed by kube-controller-manager.
import { webcrypto } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../operator/kube/rest.ts';
import { x509 } from '../../webhook/tls/x509.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CSRS = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END ${label}-----\n`;

export async function requestNodeCredentials(admin: KubeConfig, node: string): Promise<KubeConfig> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=system:node:${node}, O=system:nodes`,
    keys,
    signingAlgorithm: ALG,
  });
  const client = new KubeClient(admin);
  const name = `trustgate-test-${node}-${Date.now().toString(36)}`;
  try {
    await client.create(CSRS, {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name },
      spec: {
        request: Buffer.from(csr.toString('pem')).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
        expirationSeconds: 3600,
      },
    });
    const current = await client.get<{ status?: Record<string, unknown> }>(`${CSRS}/${name}`);
    await client.replace(`${CSRS}/${name}/approval`, {
      ...current,
      status: {
        conditions: [
          { type: 'Approved', status: 'True', reason: 'TrustgateTest', message: 'test kubelet' },
        ],
      },
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const got = await client.get<{ status?: { certificate?: string } }>(`${CSRS}/${name}`);
      if (got.status?.certificate) {
        const cluster = admin.getCurrentCluster();
        if (!cluster) throw new Error('kubeconfig has no current cluster');
        const kc = new KubeConfig();
        kc.loadFromOptions({
          clusters: [cluster],
          users: [
            {
              name: `node-${node}`,
              certData: got.status.certificate,
              keyData: Buffer.from(
                pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
              ).toString('base64'),
            },
          ],
          contexts: [{ name: 'node', cluster: cluster.name, user: `node-${node}` }],
          currentContext: 'node',
        });
        return kc;
      }
      if (Date.now() > deadline) {
        throw new Error(`CSR ${name} for node ${node} was approved but never signed`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await client.delete(`${CSRS}/${name}`).catch(() => undefined);
    client.close();
  }
}
