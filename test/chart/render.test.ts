// Renders the chart with the real helm binary and checks the objects it produces.
import { describe, expect, it } from '@jest/globals';
import {
  CHART_DIR,
  helm,
  type KubeObject,
  NAMESPACE,
  only,
  renderChart,
  renderVariantsBeforeAll,
  setArgs,
  VARIANTS,
} from './support.ts';

const objectsOf = renderVariantsBeforeAll();
/** trustgate's Role in its own namespace (Lease, TLS Secret), not the JWKS Secret Roles. */
const ownRole = (objects: KubeObject[]) =>
  only(
    objects.filter((o) => !o.metadata.name.endsWith('-jwks-secrets')),
    'Role',
  );

describe('helm lint', () => {
  it.each(Object.keys(VARIANTS))('passes --strict with the %s values', async (variant) => {
    const sets = setArgs(VARIANTS[variant]);
    const result = await helm(['lint', CHART_DIR, '--strict', '--namespace', NAMESPACE, ...sets]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('0 chart(s) failed');
  });
});

describe('the Deployment', () => {
  it('runs 3 replicas of `trustgate run` with the process flags', () => {
    const deployment = only(objectsOf('defaults'), 'Deployment');
    expect(deployment.spec.replicas).toBe(3);
    const [container] = deployment.spec.template.spec.containers;
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT runs bin/trustgate.js
    expect(container.args[0]).toBe('run');
    expect(container.args).toEqual(
      expect.arrayContaining([
        `--namespace=${NAMESPACE}`,
        '--webhook-port=9443',
        '--metrics-port=8080',
      ]),
    );
  });

  it('is non-root with a read-only root filesystem and no capabilities', () => {
    const pod = only(objectsOf('defaults'), 'Deployment').spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const container of pod.containers) {
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container.securityContext.capabilities.add).toBeUndefined();
      expect(container.resources.requests).toEqual(
        expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
      );
      expect(container.resources.limits.memory).toBeDefined();
    }
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.priorityClassName).toBe('system-cluster-critical');
  });

  it('probes /healthz and /readyz on the metrics port', () => {
    const [container] = only(objectsOf('defaults'), 'Deployment').spec.template.spec.containers;
    const metricsPort = container.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(metricsPort.containerPort).toBe(8080);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('spreads replicas over nodes and keeps at most one down at a time', () => {
    const objects = objectsOf('defaults');
    const pod = only(objects, 'Deployment').spec.template.spec;
    const [term] = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(term.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    const pdb = only(objects, 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable ?? 3 - pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector).toEqual(only(objects, 'Deployment').spec.selector);
  });

  it('mounts the cert-manager Secret at --cert-dir only when cert-manager is on', () => {
    const [plain] = only(objectsOf('defaults'), 'Deployment').spec.template.spec.containers;
    expect(plain.args.some((a: string) => a.startsWith('--cert-dir'))).toBe(false);

    const pod = only(objectsOf('certManager'), 'Deployment').spec.template.spec;
    const [container] = pod.containers;
    const certDir = container.args
      .find((a: string) => a.startsWith('--cert-dir='))
      ?.slice('--cert-dir='.length);
    const mount = container.volumeMounts.find(
      (m: { mountPath: string }) => m.mountPath === certDir,
    );
    expect(mount?.readOnly).toBe(true);
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    const certificate = objectsOf('certManager').find(
      (o) => o.kind === 'Certificate' && !o.spec.isCA,
    ) as KubeObject;
    expect(volume.secret.secretName).toBe(certificate.spec.secretName);
    expect(certificate.spec.dnsNames).toContain(`tg-trustgate.${NAMESPACE}.svc`);
  });
});

describe('the Service', () => {
  it('maps 443 to the webhook port and exposes metrics', () => {
    const service = only(objectsOf('defaults'), 'Service');
    const ports = Object.fromEntries(service.spec.ports.map((p: { name: string }) => [p.name, p]));
    expect(ports.webhook).toMatchObject({ port: 443, targetPort: 'webhook' });
    expect(ports.metrics).toMatchObject({ port: 8080, targetPort: 'metrics' });
  });
});

describe('RBAC', () => {
  const rulesOf = (objects: KubeObject[]) =>
    objects
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .flatMap((o) => o.rules as Record<string, string[]>[]);
  /** Rules of the roles bound to trustgate's own service account (not the user roles). */
  const ownRulesOf = (objects: KubeObject[]) => {
    const bound = new Set(
      objects
        .filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')
        .map((b) => `${b.roleRef.kind}/${b.roleRef.name}`),
    );
    return rulesOf(objects.filter((o) => bound.has(`${o.kind}/${o.metadata.name}`)));
  };

  it.each(Object.keys(VARIANTS))('has no wildcards (%s)', (variant) => {
    for (const rule of rulesOf(objectsOf(variant))) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
        expect(rule[field] ?? []).not.toContain('*');
      }
      // The only non-resource URL: the API server's issuer discovery document.
      if (rule.nonResourceURLs) {
        expect(rule).toEqual({
          nonResourceURLs: ['/.well-known/openid-configuration'],
          verbs: ['get'],
        });
      }
    }
  });

  // test/integration/privilege/rbac.test.ts derives these from the requests trustgate sends.
  it('grants exactly the verbs the controllers and webhook need', () => {
    const verbs = (group: string, resource: string) =>
      ownRulesOf(objectsOf('defaults'))
        .filter((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource))
        .flatMap((r) => r.verbs)
        .filter((v, i, all) => all.indexOf(v) === i)
        .sort();
    expect(verbs('trustgate.dev', 'nodeattestations')).toEqual(['get', 'list', 'watch']);
    expect(verbs('trustgate.dev', 'workloadgrants/status')).toEqual(['update']);
    expect(verbs('', 'nodes')).toEqual(['get', 'list', 'patch', 'watch']);
    expect(verbs('', 'pods')).toEqual(['delete', 'list', 'watch']);
    expect(verbs('', 'pods/eviction')).toEqual(['create']);
    expect(verbs('', 'serviceaccounts')).toEqual(['create', 'delete', 'get']);
    expect(verbs('', 'secrets')).toEqual(['create', 'delete', 'get', 'list', 'update', 'watch']);
    expect(verbs('', 'events')).toEqual(['create']);
    expect(verbs('admissionregistration.k8s.io', 'validatingwebhookconfigurations')).toEqual([
      'create',
      'get',
      'update',
    ]);
    expect(verbs('', 'namespaces')).toEqual(['list', 'watch']);
    expect(verbs('coordination.k8s.io', 'leases')).toEqual(['create', 'get', 'update']);
    for (const forbidden of ['escalate', 'bind', 'impersonate', 'deletecollection']) {
      expect(ownRulesOf(objectsOf('defaults')).flatMap((r) => r.verbs)).not.toContain(forbidden);
    }
  });

  it('limits reads and updates of its own Secret, Lease and webhook configuration by name', () => {
    const rules = ownRulesOf(objectsOf('defaults'));
    const byName = (resource: string, verb: string) =>
      rules.filter((r) => r.resources?.includes(resource) && r.verbs?.includes(verb));
    for (const [resource, verb] of [
      ['leases', 'update'],
      ['validatingwebhookconfigurations', 'update'],
      ['secrets', 'get'],
    ]) {
      expect(byName(resource as string, verb as string).length).toBeGreaterThan(0);
      for (const rule of byName(resource as string, verb as string)) {
        expect(rule.resourceNames?.length).toBe(1);
      }
    }
    const role = ownRole(objectsOf('defaults'));
    const tlsRule = role.rules.find(
      (r: Record<string, string[]>) => r.resources?.includes('secrets') && r.verbs?.includes('get'),
    );
    expect(tlsRule.resourceNames).toEqual(['tg-trustgate-webhook-tls']);
    // With cert-manager the process never writes a Secret of its own namespace.
    const certManagerRole = ownRole(objectsOf('certManager'));
    expect(
      certManagerRole.rules.some((r: Record<string, string[]>) => r.resources?.includes('secrets')),
    ).toBe(false);
  });

  it('lets trustgate list and watch JWKS Secrets only in the namespaces it is told', async () => {
    const jwksRoles = (objects: KubeObject[]) =>
      objects.filter((o) => o.kind === 'Role' && o.metadata.name.endsWith('-jwks-secrets'));
    const defaults = jwksRoles(objectsOf('defaults'));
    expect(defaults.map((r) => r.metadata.namespace)).toEqual([NAMESPACE]);
    expect(defaults[0]?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
    ]);
    const { objects } = await renderChart({}, [
      '--set-json',
      `jwksSecretNamespaces=["verifiers","${NAMESPACE}"]`,
    ]);
    expect(jwksRoles(objects).map((r) => r.metadata.namespace)).toEqual([NAMESPACE, 'verifiers']);
    const bindings = objects.filter(
      (o) => o.kind === 'RoleBinding' && o.metadata.name.endsWith('-jwks-secrets'),
    );
    expect(bindings.map((b) => b.metadata.namespace)).toEqual([NAMESPACE, 'verifiers']);
  });
});

describe('the ValidatingWebhookConfiguration', () => {
  it('is left to the process by default', () => {
    const objects = objectsOf('defaults');
    expect(objects.some((o) => o.kind === 'ValidatingWebhookConfiguration')).toBe(false);
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    expect(container.args).toContain('--manage-webhook-configuration=true');
  });

  it.each(['chartManagedWebhook', 'chartManagedWebhookWithCertManager'])(
    'is fail-closed for workloads, fast and excludes kube-system and its own namespace (%s)',
    (variant) => {
      const config = only(objectsOf(variant), 'ValidatingWebhookConfiguration');
      expect(config.webhooks.length).toBeGreaterThan(0);
      const service = only(objectsOf(variant), 'Service');
      for (const webhook of config.webhooks) {
        // trustgate's own resources fail open: no policy governs them.
        const governed = webhook.name !== 'resources.trustgate.dev';
        expect(webhook.failurePolicy).toBe(governed ? 'Fail' : 'Ignore');
        expect(webhook.timeoutSeconds).toBeLessThanOrEqual(3);
        expect(webhook.sideEffects).toBe('None');
        expect(webhook.admissionReviewVersions).toEqual(['v1']);
        expect(webhook.matchPolicy).toBe('Equivalent');
        const [expression] = webhook.namespaceSelector.matchExpressions;
        expect(expression).toMatchObject({ key: 'kubernetes.io/metadata.name', operator: 'NotIn' });
        expect(expression.values).toEqual(expect.arrayContaining(['kube-system', NAMESPACE]));
        expect(webhook.clientConfig.service).toMatchObject({
          name: service.metadata.name,
          namespace: NAMESPACE,
          port: 443,
        });
      }
      const resources = config.webhooks.flatMap((w: { rules: { resources: string[] }[] }) =>
        w.rules.flatMap((r) => r.resources),
      );
      expect(resources).toEqual(
        expect.arrayContaining([
          'pods',
          'pods/binding',
          'pods/ephemeralcontainers',
          'serviceaccounts/token',
          'endpointtrustpolicies',
          'workloadgrants',
        ]),
      );
      // A webhook outage must never stop verifiers refreshing attestations (every node
      // would go stale and be revoked), nor block the controllers' status writes.
      expect(resources).not.toContain('nodeattestations');
      expect(resources.filter((r: string) => r.endsWith('/status'))).toEqual([]);
    },
  );

  it('asks cert-manager to inject the CA of the serving certificate', () => {
    const objects = objectsOf('chartManagedWebhookWithCertManager');
    const config = only(objects, 'ValidatingWebhookConfiguration');
    const serving = objects.find((o) => o.kind === 'Certificate' && !o.spec.isCA) as KubeObject;
    expect(config.metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': `${NAMESPACE}/${serving.metadata.name}`,
    });
    expect(
      only(objectsOf('chartManagedWebhook'), 'ValidatingWebhookConfiguration').metadata.annotations,
    ).toBeUndefined();
  });

  it('adds extra excluded namespaces and takes failurePolicy and timeout from values', async () => {
    const { objects } = await renderChart({
      'webhook.manageConfiguration': 'chart',
      'webhook.failurePolicy': 'Ignore',
      'webhook.timeoutSeconds': 2,
      'webhook.excludedNamespaces[0]': 'monitoring',
    });
    const [webhook] = only(objects, 'ValidatingWebhookConfiguration').webhooks;
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.timeoutSeconds).toBe(2);
    expect(webhook.namespaceSelector.matchExpressions[0].values).toEqual([
      'kube-system',
      NAMESPACE,
      'monitoring',
    ]);
  });
});

describe('monitoring', () => {
  it('renders ServiceMonitor, PrometheusRule and the dashboard ConfigMap only when asked', () => {
    const kinds = (variant: string) => objectsOf(variant).map((o) => o.kind);
    expect(kinds('defaults')).not.toContain('ServiceMonitor');
    expect(kinds('defaults')).not.toContain('PrometheusRule');
    expect(kinds('defaults')).not.toContain('ConfigMap');
    expect(kinds('monitoring')).toEqual(
      expect.arrayContaining(['ServiceMonitor', 'PrometheusRule', 'ConfigMap']),
    );
  });

  it('scrapes the metrics port of the Service', () => {
    const objects = objectsOf('monitoring');
    const monitor = only(objects, 'ServiceMonitor');
    expect(monitor.spec.endpoints[0].port).toBe('metrics');
    const service = only(objects, 'Service');
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) {
      expect(service.metadata.labels?.[key]).toBe(value);
    }
  });

  it('alerts on webhook errors and latency, revocations, stale attestations and no leader', () => {
    const rule = only(objectsOf('monitoring'), 'PrometheusRule');
    const alerts = Object.fromEntries(
      rule.spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) =>
        g.rules.map((r) => [r.alert, r.expr]),
      ),
    );
    expect(alerts.TrustgateWebhookErrors).toContain('trustgate_admission_errors_total');
    expect(alerts.TrustgateWebhookLatencyHigh).toContain('histogram_quantile(0.99');
    expect(alerts.TrustgateRevocations).toContain('trustgate_revocations_total');
    expect(alerts.TrustgateStaleAttestations).toContain('trustgate_nodes');
    expect(alerts.TrustgateNoLeader).toMatch(/max\(trustgate_leader\{[^}]*\}\).*< 1/);
    // Every expression is scoped to the release namespace.
    for (const expr of Object.values(alerts)) {
      expect(expr).toContain(`namespace="${NAMESPACE}"`);
    }
  });

  it('ships the dashboard JSON in a ConfigMap the Grafana sidecar picks up', () => {
    const configMap = only(objectsOf('monitoring'), 'ConfigMap');
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(configMap.data['trustgate.json']);
    expect(dashboard.uid).toBe('trustgate');
  });
});

describe('every rendered object', () => {
  it.each(Object.keys(VARIANTS))('is labelled and namespaced consistently (%s)', (variant) => {
    const clusterScoped = new Set([
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
      'ValidatingWebhookConfiguration',
    ]);
    for (const object of objectsOf(variant)) {
      expect(object.metadata.labels?.['app.kubernetes.io/instance']).toBe('tg');
      if (clusterScoped.has(object.kind)) expect(object.metadata.namespace).toBeUndefined();
      else expect(object.metadata.namespace).toBe(NAMESPACE);
    }
  });
});
