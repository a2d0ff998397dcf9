// A kubeconfig that authenticates with a client certificate, as kubeadm writes them.
import yaml from 'js-yaml';
import type { KeyPairPem } from '../../webhook/tls/certificates.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function renderClientKubeconfig(
  url: string,
  caPem: string,
  user: string,
  cert: KeyPairPem,
): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'envtest', cluster: { server: url, 'certificate-authority-data': b64(caPem) } },
    ],
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': b64(cert.certPem),
          'client-key-data': b64(cert.keyPem),
        },
      },
    ],
    contexts: [{ name: 'envtest', context: { cluster: 'envtest', user, namespace: 'default' } }],
    'current-context': 'envtest',
    preferences: {},
  });
}
