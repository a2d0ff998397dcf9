import { describe, expect, it } from '@jest/globals';
import {
  isExemptFromWebhooks,
  type MatchEnvironment,
  matchWebhook,
  ruleMatches,
} from '../../../hack/sandbox/admission/rules.ts';
import type { ValidatingWebhook } from '../../../hack/sandbox/admission/types.ts';
import type { AdmissionAttributes } from '../../../hack/sandbox/admission.ts';

const podsV1 = { group: '', version: 'v1', resource: 'pods' };

const target = (over: Partial<Parameters<typeof ruleMatches>[1]> = {}) => ({
  operation: 'CREATE',
  resource: podsV1,
  subResource: '',
  namespace: 'default',
  ...over,
});

const rule = (resources: string[], over: Record<string, unknown> = {}) => ({
  operations: ['CREATE'],
  apiGroups: [''],
  apiVersions: ['v1'],
  resources,
  ...over,
});

describe('ruleMatches', () => {
  it('matches a resource and not its subresources unless named', () => {
    expect(ruleMatches(rule(['pods']), target())).toBe(true);
    expect(ruleMatches(rule(['pods']), target({ subResource: 'binding' }))).toBe(false);
    expect(ruleMatches(rule(['pods/binding']), target({ subResource: 'binding' }))).toBe(true);
    expect(ruleMatches(rule(['pods/binding']), target())).toBe(false);
    expect(ruleMatches(rule(['pods/status']), target({ subResource: 'binding' }))).toBe(false);
  });

  it('treats pods/* as pods with any subresource, */* as everything, * as main resources only', () => {
    expect(ruleMatches(rule(['pods/*']), target({ subResource: 'binding' }))).toBe(true);
    expect(
      ruleMatches(rule(['pods/*']), target({ resource: { ...podsV1, resource: 'nodes' } })),
    ).toBe(false);
    const token = target({
      resource: { ...podsV1, resource: 'serviceaccounts' },
      subResource: 'token',
    });
    expect(ruleMatches(rule(['*/*']), token)).toBe(true);
    expect(ruleMatches(rule(['*']), token)).toBe(false);
    expect(ruleMatches(rule(['*']), target())).toBe(true);
    expect(ruleMatches(rule(['serviceaccounts/token']), token)).toBe(true);
  });

  it('checks operations with the * wildcard', () => {
    expect(ruleMatches(rule(['pods'], { operations: ['UPDATE'] }), target())).toBe(false);
    expect(
      ruleMatches(rule(['pods'], { operations: ['*'] }), target({ operation: 'DELETE' })),
    ).toBe(true);
    expect(ruleMatches(rule(['pods'], { operations: [] }), target())).toBe(false);
  });

  it('checks groups and versions', () => {
    expect(ruleMatches(rule(['pods'], { apiGroups: ['apps'] }), target())).toBe(false);
    expect(ruleMatches(rule(['pods'], { apiGroups: ['*'] }), target())).toBe(true);
    expect(ruleMatches(rule(['pods'], { apiVersions: ['v1beta1'] }), target())).toBe(false);
    expect(ruleMatches(rule(['pods'], { apiVersions: ['*'] }), target())).toBe(true);
  });

  it('applies scope, counting a Namespace as cluster-scoped', () => {
    const cluster = target({ resource: { ...podsV1, resource: 'nodes' }, namespace: '' });
    expect(ruleMatches(rule(['nodes'], { scope: 'Namespaced' }), cluster)).toBe(false);
    expect(ruleMatches(rule(['nodes'], { scope: 'Cluster' }), cluster)).toBe(true);
    expect(ruleMatches(rule(['pods'], { scope: 'Cluster' }), target())).toBe(false);
    expect(ruleMatches(rule(['pods'], { scope: '*' }), target())).toBe(true);
    const ns = target({
      resource: { ...podsV1, resource: 'namespaces' },
      namespace: 'team-a',
      operation: 'UPDATE',
    });
    expect(ruleMatches(rule(['namespaces'], { scope: 'Cluster', operations: ['*'] }), ns)).toBe(
      true,
    );
    expect(ruleMatches(rule(['namespaces'], { scope: 'Namespaced', operations: ['*'] }), ns)).toBe(
      false,
    );
  });
});

const attrs = (over: Partial<AdmissionAttributes> = {}): AdmissionAttributes => ({
  uid: 'u1',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: podsV1,
  subResource: '',
  requestKind: { group: '', version: 'v1', kind: 'Pod' },
  requestResource: podsV1,
  requestSubResource: '',
  name: 'p1',
  namespace: 'team-a',
  operation: 'CREATE',
  userInfo: { username: 'alice', groups: ['system:authenticated'] },
  object: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', namespace: 'team-a', labels: { app: 'web' } },
  },
  oldObject: null,
  dryRun: false,
  options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', metadata: {} },
  ...over,
});

const env = (
  namespaces: Record<string, Record<string, string>>,
  equivalents: MatchEnvironment['equivalents'] = () => [],
): MatchEnvironment => ({
  namespaceLabels: (name) => namespaces[name],
  equivalents,
});

const hook = (over: Partial<ValidatingWebhook> = {}): ValidatingWebhook => ({
  name: 'pods.trustgate.dev',
  clientConfig: { url: 'https://127.0.0.1:1/' },
  rules: [rule(['pods'])],
  ...over,
});

describe('matchWebhook', () => {
  const namespaces = { 'team-a': { env: 'prod' }, 'kube-system': {} };

  it('calls a hook whose rules match, with the request resource and kind', () => {
    const m = matchWebhook(hook(), attrs(), env(namespaces));
    expect(m).toEqual({
      call: true,
      invocation: {
        resource: podsV1,
        subResource: '',
        kind: { group: '', version: 'v1', kind: 'Pod' },
      },
    });
  });

  it('skips by namespaceSelector against the namespace labels', () => {
    const selector = { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] };
    expect(matchWebhook(hook({ namespaceSelector: selector }), attrs(), env(namespaces)).call).toBe(
      true,
    );
    expect(
      matchWebhook(
        hook({ namespaceSelector: selector }),
        attrs({ namespace: 'kube-system' }),
        env(namespaces),
      ).call,
    ).toBe(false);
    const notIn = { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] };
    expect(
      matchWebhook(
        hook({ namespaceSelector: notIn }),
        attrs({ namespace: 'kube-system' }),
        env(namespaces),
      ).call,
    ).toBe(true);
  });

  it('ignores namespaceSelector for cluster-scoped objects but applies it to a Namespace itself', () => {
    const selector = { matchLabels: { env: 'prod' } };
    const nodes = { group: '', version: 'v1', resource: 'nodes' };
    const nodeAttrs = attrs({ resource: nodes, namespace: '', name: 'n1' });
    expect(
      matchWebhook(
        hook({ namespaceSelector: selector, rules: [rule(['nodes'])] }),
        nodeAttrs,
        env({}),
      ).call,
    ).toBe(true);

    const nsRes = { group: '', version: 'v1', resource: 'namespaces' };
    const nsHook = hook({
      namespaceSelector: selector,
      rules: [rule(['namespaces'], { operations: ['*'] })],
    });
    const created = attrs({
      resource: nsRes,
      namespace: '',
      name: 'new',
      object: { metadata: { name: 'new', labels: { env: 'prod' } } },
    });
    expect(matchWebhook(nsHook, created, env({})).call).toBe(true);
    const unlabeled = attrs({
      resource: nsRes,
      namespace: '',
      name: 'new',
      object: { metadata: { name: 'new' } },
    });
    expect(matchWebhook(nsHook, unlabeled, env({})).call).toBe(false);
    // Deleting a Namespace: the stored namespace's labels decide.
    const deleting = attrs({
      resource: nsRes,
      namespace: 'team-a',
      name: 'team-a',
      operation: 'DELETE',
      object: null,
    });
    expect(matchWebhook(nsHook, deleting, env(namespaces)).call).toBe(true);
  });

  it('reports a missing namespace as 404 only when the rules match', () => {
    const selector = { matchLabels: { env: 'prod' } };
    const m = matchWebhook(
      hook({ namespaceSelector: selector }),
      attrs({ namespace: 'gone' }),
      env({}),
    );
    expect(m.error).toMatchObject({ code: 404, message: 'namespaces "gone" not found' });
    const other = matchWebhook(
      hook({ namespaceSelector: selector, rules: [rule(['secrets'])] }),
      attrs({ namespace: 'gone' }),
      env({}),
    );
    expect(other).toEqual({ call: false });
  });

  it('matches objectSelector against the object or the old object', () => {
    const selector = { matchLabels: { app: 'web' } };
    expect(matchWebhook(hook({ objectSelector: selector }), attrs(), env(namespaces)).call).toBe(
      true,
    );
    const other = attrs({ object: { metadata: { name: 'p1', labels: { app: 'db' } } } });
    expect(matchWebhook(hook({ objectSelector: selector }), other, env(namespaces)).call).toBe(
      false,
    );
    const deleting = attrs({
      operation: 'DELETE',
      object: null,
      oldObject: { metadata: { name: 'p1', labels: { app: 'web' } } },
    });
    expect(
      matchWebhook(
        hook({ objectSelector: selector, rules: [rule(['pods'], { operations: ['DELETE'] })] }),
        deleting,
        env(namespaces),
      ).call,
    ).toBe(true);
    // A Binding carries no labels, so a label-selecting hook never sees pods/binding.
    const binding = attrs({
      subResource: 'binding',
      object: { kind: 'Binding', metadata: { name: 'p1' } },
    });
    expect(
      matchWebhook(
        hook({ objectSelector: selector, rules: [rule(['pods/binding'])] }),
        binding,
        env(namespaces),
      ).call,
    ).toBe(false);
  });

  it('turns an invalid selector into a 500 when the hook applies', () => {
    const bad = { matchExpressions: [{ key: 'env', operator: 'Near', values: ['x'] }] };
    const m = matchWebhook(hook({ objectSelector: bad }), attrs(), env(namespaces));
    expect(m.error).toMatchObject({
      code: 500,
      message: 'Internal error occurred: "Near" is not a valid label selector operator',
    });
  });

  it('follows matchPolicy: Equivalent matches another served version, Exact does not', () => {
    const v1 = { group: 'trustgate.dev', version: 'v1alpha1', resource: 'workloadgrants' };
    const v2 = { group: 'trustgate.dev', version: 'v1beta1', resource: 'workloadgrants' };
    const equivalents = () => [
      {
        resource: v1,
        kind: { group: 'trustgate.dev', version: 'v1alpha1', kind: 'WorkloadGrant' },
      },
      { resource: v2, kind: { group: 'trustgate.dev', version: 'v1beta1', kind: 'WorkloadGrant' } },
    ];
    const request = attrs({
      resource: v1,
      kind: { group: 'trustgate.dev', version: 'v1alpha1', kind: 'WorkloadGrant' },
    });
    const r = rule(['workloadgrants'], { apiGroups: ['trustgate.dev'], apiVersions: ['v1beta1'] });
    expect(
      matchWebhook(
        hook({ rules: [r], matchPolicy: 'Exact' }),
        request,
        env(namespaces, equivalents),
      ),
    ).toEqual({ call: false });
    expect(matchWebhook(hook({ rules: [r] }), request, env(namespaces, equivalents))).toEqual({
      call: true,
      invocation: {
        resource: v2,
        subResource: '',
        kind: { group: 'trustgate.dev', version: 'v1beta1', kind: 'WorkloadGrant' },
      },
    });
  });

  it('never sends admission configuration to webhooks', () => {
    expect(
      isExemptFromWebhooks({
        group: 'admissionregistration.k8s.io',
        version: 'v1',
        resource: 'validatingwebhookconfigurations',
      }),
    ).toBe(true);
    expect(isExemptFromWebhooks(podsV1)).toBe(false);
  });
});
