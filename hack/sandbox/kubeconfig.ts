// The kubeconfig the sandbox writes: one cluster (with its CA inline), one admin user.
import yaml from 'js-yaml';

export function renderKubeconfig(url: string, caPem: string, token: string): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'trustgate-sandbox',
        cluster: {
          server: url,
          'certificate-authority-data': Buffer.from(caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'sandbox-admin', user: { token } }],
    contexts: [
      {
        name: 'trustgate-sandbox',
        context: { cluster: 'trustgate-sandbox', user: 'sandbox-admin', namespace: 'default' },
      },
    ],
    'current-context': 'trustgate-sandbox',
    preferences: {},
  });
}
