// values.schema.json makes helm refuse bad values before anything reaches a cluster.
import { describe, expect, it } from '@jest/globals';
import { renderChart } from './support.ts';

const refusal = async (sets: Record<string, string | number | boolean>) =>
  renderChart(sets).then(
    () => 'rendered',
    (err: Error) => err.message,
  );

describe('values.schema.json', () => {
  it.each([
    [{ replicaCount: -1 }, '/replicaCount'],
    [{ replicaCount: 0 }, '/replicaCount'],
    [{ 'webhook.failurePolicy': 'Maybe' }, '/webhook/failurePolicy'],
    [{ 'webhook.manageConfiguration': 'both' }, '/webhook/manageConfiguration'],
    [{ 'webhook.timeoutSeconds': 10 }, '/webhook/timeoutSeconds'],
    [{ 'webhook.timeoutSeconds': 0 }, '/webhook/timeoutSeconds'],
    [
      { 'securityContext.readOnlyRootFilesystem': false },
      '/securityContext/readOnlyRootFilesystem',
    ],
    [
      { 'securityContext.allowPrivilegeEscalation': true },
      '/securityContext/allowPrivilegeEscalation',
    ],
    [{ 'podSecurityContext.runAsNonRoot': false }, '/podSecurityContext/runAsNonRoot'],
    [{ 'securityContext.capabilities.add[0]': 'NET_ADMIN' }, '/securityContext/capabilities/add'],
    [{ podAntiAffinity: 'sometimes' }, '/podAntiAffinity'],
    [{ 'leaderElection.leaseDuration': 'fifteen' }, '/leaderElection/leaseDuration'],
    [{ 'image.digest': 'latest' }, '/image/digest'],
    [{ 'certManager.issuerRef.kind': 'Vault' }, '/certManager/issuerRef/kind'],
    [{ logLevel: 'verbose' }, '/logLevel'],
    [{ 'crds.enabled': 'yes' }, '/crds/enabled'],
    [{ 'crds.keep': 'no' }, '/crds/keep'],
    [{ 'tests.enabled': 'no' }, '/tests/enabled'],
    [{ 'rbac.verifierRole': 'no' }, '/rbac/verifierRole'],
    [{ 'networkPolicy.apiServer.ports[0]': 0 }, '/networkPolicy/apiServer/ports/0'],
    [{ 'webhook.excludedNamespaces[0]': 'Not_A_Namespace' }, '/webhook/excludedNamespaces/0'],
  ])('rejects %j at %s', async (sets, field) => {
    const message = await refusal(sets);
    expect(message).toContain("values don't meet the specifications of the schema");
    expect(message).toContain(`'${field}'`);
  });

  it('rejects keys it does not know, so typos are not silently ignored', async () => {
    expect(await refusal({ replicas: 3 })).toContain(
      "additional properties 'replicas' not allowed",
    );
    expect(await refusal({ 'webhook.failurePolicyy': 'Fail' })).toContain(
      "additional properties 'failurePolicyy' not allowed",
    );
  });

  it('refuses a disruption budget that would block every drain, or that sets both fields', async () => {
    expect(
      await refusal({
        'podDisruptionBudget.minAvailable': 3,
        'podDisruptionBudget.maxUnavailable': 'null',
      }),
    ).toContain('minAvailable must be below replicaCount');
    expect(await refusal({ 'podDisruptionBudget.minAvailable': 1 })).toContain(
      'set exactly one of minAvailable and maxUnavailable',
    );
  });

  it('refuses a namespace selector the process-managed configuration would not carry', async () => {
    expect(
      await refusal({
        'webhook.namespaceSelectorExpressions[0].key': 'trustgate.dev/governed',
        'webhook.namespaceSelectorExpressions[0].operator': 'Exists',
      }),
    ).toContain('needs webhook.manageConfiguration=chart');
  });

  it('accepts the documented alternatives', async () => {
    const alternatives: Record<string, string | number | boolean>[] = [
      { replicaCount: 1, podAntiAffinity: 'none', priorityClassName: '' },
      { 'podDisruptionBudget.minAvailable': 2, 'podDisruptionBudget.maxUnavailable': 'null' },
      { 'podDisruptionBudget.maxUnavailable': '50%' },
      {
        'certManager.enabled': true,
        'certManager.issuerRef.name': 'corp-ca',
        'certManager.issuerRef.kind': 'ClusterIssuer',
      },
      { 'image.digest': `sha256:${'a'.repeat(64)}` },
      {
        'webhook.manageConfiguration': 'chart',
        'webhook.namespaceSelectorExpressions[0].key': 'trustgate.dev/governed',
        'webhook.namespaceSelectorExpressions[0].operator': 'Exists',
      },
    ];
    for (const sets of alternatives) {
      expect(await refusal(sets)).toBe('rendered');
    }
  });
});
