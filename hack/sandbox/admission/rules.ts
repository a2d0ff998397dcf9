// Which webhooks a request goes to, modelled on kube-apiserver's generic webhook source
// (namespaceSelector, then objectSelector, then rules, then Equivalent resources). Pure.
import type { AdmissionAttributes } from '../admission.ts';
import type { GroupVersionResource, KubeObject } from '../types.ts';
import { compileLabelSelector, isEmptySelector, SelectorError } from './selector.ts';
import type {
  AdmissionStatus,
  EquivalentResource,
  Invocation,
  RuleWithOperations,
  ValidatingWebhook,
} from './types.ts';

/** The part of the request a rule looks at. */
export interface RuleTarget {
  operation: string;
  resource: GroupVersionResource;
  subResource: string;
  namespace: string;
}

const exactOrWildcard = (items: string[] | undefined, requested: string) =>
  (items ?? []).some((item) => item === '*' || item === requested);

const isNamespaceResource = (r: GroupVersionResource) =>
  r.group === '' && r.version === 'v1' && r.resource === 'namespaces';

function scopeMatches(scope: string | undefined, target: RuleTarget): boolean {
  if (scope === undefined || scope === '*') return true;
  // A Namespace is cluster-scoped even though its requests carry a namespace (its own name).
  if (scope === 'Namespaced')
    return !isNamespaceResource(target.resource) && target.namespace !== '';
  if (scope === 'Cluster') return isNamespaceResource(target.resource) || target.namespace === '';
  return false;
}

function resourceMatches(resources: string[] | undefined, target: RuleTarget): boolean {
  return (resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const res = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '' : entry.slice(slash + 1);
    return (
      (res === '*' || res === target.resource.resource) &&
      (sub === '*' || sub === target.subResource)
    );
  });
}

/** One rule against one request: scope, operation, group, version and resource/subresource. */
export function ruleMatches(rule: RuleWithOperations, target: RuleTarget): boolean {
  return (
    scopeMatches(rule.scope, target) &&
    exactOrWildcard(rule.operations, target.operation) &&
    exactOrWildcard(rule.apiGroups, target.resource.group) &&
    exactOrWildcard(rule.apiVersions, target.resource.version) &&
    resourceMatches(rule.resources, target)
  );
}

/** Resources kube treats as admission configuration: never sent to webhooks. */
const EXEMPT_RESOURCES = new Set([
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'mutatingadmissionpolicies',
  'mutatingadmissionpolicybindings',
]);

export function isExemptFromWebhooks(resource: GroupVersionResource): boolean {
  return (
    resource.group === 'admissionregistration.k8s.io' && EXEMPT_RESOURCES.has(resource.resource)
  );
}

export interface MatchEnvironment {
  /** Labels of a namespace; `undefined` when it does not exist. */
  namespaceLabels(name: string): Record<string, string> | undefined;
  /** Other group/versions serving the same objects (for matchPolicy Equivalent). */
  equivalents(resource: GroupVersionResource, subResource: string): EquivalentResource[];
}

export type MatchOutcome =
  | { call: false; error?: undefined }
  | { call: true; invocation: Invocation; error?: undefined }
  | { call: false; error: AdmissionStatus };

const internalError = (message: string): AdmissionStatus => ({
  code: 500,
  reason: 'InternalError',
  message: `Internal error occurred: ${message}`,
});

const labelsOf = (obj: KubeObject | null) => obj?.metadata?.labels ?? {};

type SelectorVerdict = { matches: boolean; error?: AdmissionStatus };

function namespaceSelectorVerdict(
  hook: ValidatingWebhook,
  attrs: AdmissionAttributes,
  env: MatchEnvironment,
): SelectorVerdict {
  const isNamespace = attrs.resource.resource === 'namespaces';
  // Cluster-scoped objects other than Namespaces are never exempted by a namespaceSelector.
  if (attrs.namespace === '' && !isNamespace) return { matches: true };
  if (isEmptySelector(hook.namespaceSelector)) return { matches: true };
  const matcher = compileLabelSelector(hook.namespaceSelector);
  // Creating or updating a Namespace: its own (new) labels decide.
  if (
    isNamespace &&
    attrs.subResource === '' &&
    (attrs.operation === 'CREATE' || attrs.operation === 'UPDATE')
  ) {
    return { matches: matcher(labelsOf(attrs.object)) };
  }
  // kube gives requests on a Namespace the namespace's own name; accept either form.
  const namespace = attrs.namespace || (isNamespace ? attrs.name : '');
  const labels = env.namespaceLabels(namespace);
  if (labels === undefined) {
    return {
      matches: false,
      error: {
        code: 404,
        reason: 'NotFound',
        message: `namespaces "${namespace}" not found`,
        details: { name: namespace, kind: 'namespaces' },
      },
    };
  }
  return { matches: matcher(labels) };
}

function objectSelectorVerdict(
  hook: ValidatingWebhook,
  attrs: AdmissionAttributes,
): SelectorVerdict {
  if (isEmptySelector(hook.objectSelector)) return { matches: true };
  const matcher = compileLabelSelector(hook.objectSelector);
  const matchesObject = (obj: KubeObject | null) => obj !== null && matcher(labelsOf(obj));
  return { matches: matchesObject(attrs.object) || matchesObject(attrs.oldObject) };
}

function guarded(verdict: () => SelectorVerdict): SelectorVerdict {
  try {
    return verdict();
  } catch (err) {
    if (err instanceof SelectorError) return { matches: false, error: internalError(err.message) };
    throw err;
  }
}

/**
 * Whether `hook` is called for the request, and with which resource/kind. Selector errors
 * only surface when the rules match: a request a webhook does not cover is not failed.
 */
export function matchWebhook(
  hook: ValidatingWebhook,
  attrs: AdmissionAttributes,
  env: MatchEnvironment,
): MatchOutcome {
  const ns = guarded(() => namespaceSelectorVerdict(hook, attrs, env));
  if (!ns.matches && !ns.error) return { call: false };
  const obj = guarded(() => objectSelectorVerdict(hook, attrs));
  if (!obj.matches && !obj.error) return { call: false };

  const target: RuleTarget = {
    operation: attrs.operation,
    resource: attrs.resource,
    subResource: attrs.subResource,
    namespace: attrs.namespace,
  };
  const rules = hook.rules ?? [];
  let invocation: Invocation | undefined;
  if (rules.some((rule) => ruleMatches(rule, target))) {
    invocation = { resource: attrs.resource, subResource: attrs.subResource, kind: attrs.kind };
  } else if ((hook.matchPolicy ?? 'Equivalent') === 'Equivalent') {
    const equivalents = env
      .equivalents(attrs.resource, attrs.subResource)
      .filter((eq) => !sameResource(eq.resource, attrs.resource));
    // Earlier rules win, as in kube.
    outer: for (const rule of rules) {
      for (const eq of equivalents) {
        if (ruleMatches(rule, { ...target, resource: eq.resource })) {
          invocation = { resource: eq.resource, subResource: attrs.subResource, kind: eq.kind };
          break outer;
        }
      }
    }
  }
  if (!invocation) return { call: false };
  if (ns.error) return { call: false, error: ns.error };
  if (obj.error) return { call: false, error: obj.error };
  return { call: true, invocation };
}

export function sameResource(a: GroupVersionResource, b: GroupVersionResource): boolean {
  return a.group === b.group && a.version === b.version && a.resource === b.resource;
}
