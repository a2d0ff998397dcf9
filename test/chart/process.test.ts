// The chart and `trustgate run` must agree: the Deployment's flags parse, and the names
// they give the process (Service, webhook configuration, TLS Secret, Lease) are the ones
// the chart renders and grants RBAC on. The chart-managed webhook configuration must be
// the one the process would write itself.
import { describe, expect, it } from '@jest/globals';
import { parseRunFlags, type RunOptions } from '../../operator/runtime/flags.ts';
import { webhookConfiguration } from '../../webhook/registration.ts';
import {
  type KubeObject,
  NAMESPACE,
  only,
  renderChart,
  renderVariantsBeforeAll,
  VARIANTS,
} from './support.ts';

const objectsOf = renderVariantsBeforeAll();

function processOptions(objects: KubeObject[]): RunOptions {
  const [container] = only(objects, 'Deployment').spec.template.spec.containers;
  expect(container.args[0]).toBe('run');
  return parseRunFlags(container.args.slice(1), {});
}

/** resourceNames of the rule granting `verb` on `resource`, across Role and ClusterRole. */
function namesGranted(objects: KubeObject[], resource: string, verb: string): string[] {
  return objects
    .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((o) => o.rules as Record<string, string[]>[])
    .filter((r) => r.resources?.includes(resource) && r.verbs?.includes(verb))
    .flatMap((r) => r.resourceNames ?? []);
}

describe('the Deployment flags', () => {
  it.each(Object.keys(VARIANTS))('parse as trustgate run flags (%s)', (variant) => {
    expect(() => processOptions(objectsOf(variant))).not.toThrow();
  });

  it.each(Object.keys(VARIANTS))('name what the chart renders and grants (%s)', (variant) => {
    const objects = objectsOf(variant);
    const options = processOptions(objects);
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    const port = (name: string) =>
      container.ports.find((p: { name: string }) => p.name === name).containerPort;

    expect(options.namespace).toBe(NAMESPACE);
    expect(options.webhookPort).toBe(port('webhook'));
    expect(options.metricsPort).toBe(port('metrics'));
    expect(options.serviceName).toBe(only(objects, 'Service').metadata.name);
    expect(options.leaderElect).toBe(true);
    expect(namesGranted(objects, 'leases', 'update')).toEqual([options.leaseName]);
    expect(namesGranted(objects, 'validatingwebhookconfigurations', 'update')).toEqual([
      options.webhookConfigName,
    ]);

    const chartManaged = VARIANTS[variant]?.['webhook.manageConfiguration'] === 'chart';
    expect(options.manageWebhookConfiguration).toBe(!chartManaged);
    if (chartManaged) {
      const config = only(objects, 'ValidatingWebhookConfiguration');
      expect(config.metadata.name).toBe(options.webhookConfigName);
    }

    const certManager = VARIANTS[variant]?.['certManager.enabled'] === true;
    if (certManager) {
      const mount = container.volumeMounts.find(
        (m: { mountPath: string }) => m.mountPath === options.certDir,
      );
      expect(mount).toBeDefined();
    } else {
      expect(options.certDir).toBeUndefined();
      expect(namesGranted(objects, 'secrets', 'update')).toEqual([options.tlsSecret]);
    }
  });

  it('carries failure policy, timeout and excluded namespaces to the process', async () => {
    const { objects } = await renderChart({
      'webhook.failurePolicy': 'Ignore',
      'webhook.timeoutSeconds': 1,
      'webhook.excludedNamespaces[0]': 'monitoring',
      'leaderElection.leaseDuration': '20s',
    });
    const options = processOptions(objects);
    expect(options.failurePolicy).toBe('Ignore');
    expect(options.timeoutSeconds).toBe(1);
    expect(options.excludedNamespaces).toEqual(['monitoring']);
    expect(options.leaseDurationMs).toBe(20_000);
  });
});

describe('the chart-managed webhook configuration', () => {
  it.each(['chartManagedWebhook', 'chartManagedWebhookWithCertManager'])(
    'has the webhooks the process itself would write (%s)',
    (variant) => {
      const objects = objectsOf(variant);
      const options = processOptions(objects);
      const fromProcess = webhookConfiguration({
        name: options.webhookConfigName,
        namespace: options.namespace,
        service: { name: options.serviceName, namespace: options.namespace, port: 443 },
        failurePolicy: options.failurePolicy,
        timeoutSeconds: options.timeoutSeconds,
        excludedNamespaces: options.excludedNamespaces,
      });
      const fromChart = only(objects, 'ValidatingWebhookConfiguration');
      expect(fromChart.webhooks).toEqual(fromProcess.webhooks);
    },
  );
});
