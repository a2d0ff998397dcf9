import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../../../operator/cli/io.ts';
import { parseRunFlags } from '../../../operator/runtime/flags.ts';
import { webhookConfiguration } from '../../../webhook/registration.ts';

describe('trustgate run flags', () => {
  it('accepts the arguments the Helm chart passes', () => {
    const o = parseRunFlags(
      [
        '--namespace=trustgate-system',
        '--webhook-port=9443',
        '--metrics-port=8080',
        '--service-name=trustgate',
        '--webhook-config-name=trustgate-trustgate-system',
        '--manage-webhook-configuration=false',
        '--failure-policy=Ignore',
        '--timeout-seconds=2',
        '--exclude-namespace=monitoring',
        '--exclude-namespace=istio-system',
        '--tls-secret=trustgate-webhook-tls',
        '--lease-name=trustgate-leader',
        '--leader-elect-lease-duration=15s',
        '--leader-elect-renew-deadline=10s',
        '--leader-elect-retry-period=2s',
        '--log-level=debug',
      ],
      {},
    );
    expect(o).toMatchObject({
      namespace: 'trustgate-system',
      manageWebhookConfiguration: false,
      failurePolicy: 'Ignore',
      timeoutSeconds: 2,
      excludedNamespaces: ['monitoring', 'istio-system'],
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      leaderElect: true,
      controllers: true,
      servicePort: 443,
    });
  });

  it('has the documented defaults and the short leader-election spellings', () => {
    const o = parseRunFlags(['--lease-duration', '20s', '--leader-elect', 'false'], {});
    expect(o).toMatchObject({
      namespace: 'trustgate-system',
      webhookPort: 9443,
      metricsPort: 8080,
      leaseDurationMs: 20_000,
      leaderElect: false,
    });
  });

  it.each([
    [['--failure-policy', 'Maybe']],
    [['--timeout-seconds', '10']],
    [['--webhook-url', 'http://127.0.0.1:9443']],
    [['--lease-duration', 'soon']],
    [['--webhook-port', '70000']],
    [['--unknown']],
  ])('refuses %j', (args) => {
    expect(() => parseRunFlags(args, {})).toThrow(UsageError);
  });
});

describe('the webhook configuration', () => {
  it('matches the issue: timeout ≤ 3, no side effects, v1, Equivalent, exclusions, configurable failurePolicy', () => {
    const cfg = webhookConfiguration({
      name: 'tg',
      namespace: 'trustgate-system',
      url: 'https://127.0.0.1:9443',
      caBundle: 'PEM',
      failurePolicy: 'Ignore',
      timeoutSeconds: 10,
      excludedNamespaces: ['monitoring'],
    }) as { webhooks: Record<string, unknown>[] };
    expect(cfg.webhooks.map((w) => w.name)).toEqual([
      'workloads.trustgate.dev',
      'resources.trustgate.dev',
    ]);
    for (const w of cfg.webhooks) {
      expect(w).toMatchObject({
        timeoutSeconds: 3,
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        matchPolicy: 'Equivalent',
        failurePolicy: 'Ignore',
        namespaceSelector: {
          matchExpressions: [
            {
              key: 'kubernetes.io/metadata.name',
              operator: 'NotIn',
              values: ['kube-system', 'trustgate-system', 'monitoring'],
            },
          ],
        },
        clientConfig: {
          url: 'https://127.0.0.1:9443/validate',
          caBundle: Buffer.from('PEM').toString('base64'),
        },
      });
    }
    const resources = JSON.stringify(cfg.webhooks.map((w) => w.rules));
    expect(resources).toContain('pods/ephemeralcontainers');
    expect(resources).toContain('serviceaccounts/token');
    expect(resources).not.toContain('nodeattestations');
    expect(resources).not.toContain('/status');
  });

  it('follows the policies: one webhook per reach, exclusions kept, resources fail open', () => {
    const cfg = webhookConfiguration({
      name: 'tg',
      namespace: 'trustgate-system',
      url: 'https://127.0.0.1:9443',
      failurePolicy: 'Fail',
      owner: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        name: 'tg',
        uid: 'u1',
      },
      reach: [
        {
          name: 'ci.workloads.trustgate.dev',
          namespaceSelector: { matchLabels: { team: 'ci' } },
          matchCondition: 'true',
          failurePolicy: 'Fail',
          policies: ['ci'],
        },
      ],
    }) as { metadata: Record<string, unknown>; webhooks: Record<string, unknown>[] };
    expect(cfg.metadata.ownerReferences).toEqual([
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'tg', uid: 'u1' },
    ]);
    expect(cfg.webhooks.map((w) => [w.name, w.failurePolicy])).toEqual([
      ['ci.workloads.trustgate.dev', 'Fail'],
      ['resources.trustgate.dev', 'Ignore'],
    ]);
    expect(cfg.webhooks[0]).toMatchObject({
      namespaceSelector: {
        matchLabels: { team: 'ci' },
        matchExpressions: [
          {
            key: 'kubernetes.io/metadata.name',
            operator: 'NotIn',
            values: ['kube-system', 'trustgate-system'],
          },
        ],
      },
      matchConditions: [{ name: 'governed-pods', expression: 'true' }],
    });
  });

  it('has no workloads webhook without policies', () => {
    const cfg = webhookConfiguration({
      name: 'tg',
      namespace: 'trustgate-system',
      url: 'https://127.0.0.1:9443',
      reach: [],
    }) as { webhooks: { name: string }[] };
    expect(cfg.webhooks.map((w) => w.name)).toEqual(['resources.trustgate.dev']);
  });
});
