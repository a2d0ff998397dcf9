// Kind rules for the built-ins a Helm chart installs besides pods: Deployments (kube's
// apps/v1 defaults, selector rules, pod template checks), PodDisruptionBudgets and
// PriorityClasses (with the two system classes every cluster has). The sandbox runs no
// controllers for them: a Deployment makes no pods and its status stays as written.
import type { KindHooks, ObjectAPI } from './api.ts';
import { fieldError, type StatusCause } from './errors.ts';
import { defaultPodSpec, validatePodSpec } from './pods.ts';
import type { ResourceType } from './resources.ts';
import { labelSelectorFromObject, matchesLabels } from './selectors.ts';
import type { KubeObject } from './types.ts';
import { deepEqual, isRecord } from './util.ts';

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (isRecord(v) ? v : {});

/** Go's %v of a string map, as kube prints one in field errors: map[string]string{"a":"b"}. */
const goMap = (m: Obj) =>
  `map[string]string{${Object.entries(m)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join(', ')}}`;

function selectorCauses(spec: Obj, old: KubeObject | undefined): StatusCause[] {
  const selector = spec.selector;
  if (!isRecord(selector))
    return [fieldError('FieldValueRequired', 'spec.selector', 'Required value')];
  const requirements = labelSelectorFromObject(selector);
  if (requirements.length === 0) {
    return [
      fieldError(
        'FieldValueInvalid',
        'spec.selector',
        'Invalid value: "null": empty selector is invalid for deployment',
      ),
    ];
  }
  const causes: StatusCause[] = [];
  const labels = rec(rec(rec(spec.template).metadata).labels) as Record<string, string>;
  if (!matchesLabels(requirements, labels)) {
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'spec.template.metadata.labels',
        `Invalid value: ${goMap(labels)}: \`selector\` does not match template \`labels\``,
      ),
    );
  }
  if (old && !deepEqual(rec(old.spec).selector, selector)) {
    causes.push(
      fieldError('FieldValueInvalid', 'spec.selector', 'Invalid value: field is immutable'),
    );
  }
  return causes;
}

export function deploymentHooks(): KindHooks {
  const defaults = (d: KubeObject) => {
    const spec = rec(d.spec);
    d.spec = spec;
    spec.replicas ??= 1;
    const strategy = rec(spec.strategy);
    spec.strategy = strategy;
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') {
      const rolling = rec(strategy.rollingUpdate);
      rolling.maxUnavailable ??= '25%';
      rolling.maxSurge ??= '25%';
      strategy.rollingUpdate = rolling;
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    const template = rec(spec.template);
    spec.template = template;
    template.metadata = rec(template.metadata);
    template.spec = rec(template.spec);
    defaultPodSpec(template.spec as Obj);
  };
  return {
    prepareCreate(d) {
      defaults(d);
      d.status = {};
    },
    prepareUpdate: defaults,
    validate(d, old) {
      const spec = rec(d.spec);
      const causes = selectorCauses(spec, old);
      causes.push(...validatePodSpec(rec(rec(spec.template).spec), 'spec.template.spec'));
      if (typeof spec.replicas === 'number' && spec.replicas < 0) {
        causes.push(
          fieldError(
            'FieldValueInvalid',
            'spec.replicas',
            `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
          ),
        );
      }
      return causes;
    },
  };
}

export function podDisruptionBudgetHooks(): KindHooks {
  return {
    prepareCreate(pdb) {
      pdb.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    },
    validate(pdb) {
      const spec = rec(pdb.spec);
      if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
        return [
          fieldError(
            'FieldValueInvalid',
            'spec',
            'Invalid value: policy.PodDisruptionBudgetSpec: minAvailable and maxUnavailable cannot be both set',
          ),
        ];
      }
      return [];
    },
  };
}

export function priorityClassHooks(): KindHooks {
  return {
    prepareCreate(pc) {
      pc.preemptionPolicy ??= 'PreemptLowerPriority';
    },
    validate(pc, old) {
      if (typeof pc.value !== 'number' || !Number.isInteger(pc.value)) {
        return [fieldError('FieldValueRequired', 'value', 'Required value')];
      }
      if (old && old.value !== pc.value) {
        return [
          fieldError('FieldValueForbidden', 'value', 'Forbidden: may not be changed in an update.'),
        ];
      }
      return [];
    },
  };
}

/** The PriorityClasses kube-apiserver creates at start. */
export function seedPriorityClasses(api: ObjectAPI, t: ResourceType): void {
  const system = [
    {
      name: 'system-node-critical',
      value: 2000001000,
      description: 'Used for system critical pods that must not be moved from their current node.',
    },
    {
      name: 'system-cluster-critical',
      value: 2000000000,
      description:
        'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
    },
  ];
  for (const pc of system) {
    api.seed(t, {
      metadata: { name: pc.name },
      value: pc.value,
      globalDefault: false,
      description: pc.description,
      preemptionPolicy: 'PreemptLowerPriority',
    });
  }
}
