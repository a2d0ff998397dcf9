// Pod rules kube-apiserver applies: defaults (including what the ServiceAccount and
// DefaultTolerationSeconds admission plugins add), required fields, the update
// restrictions, and graceful deletion. With no real kubelet, a terminating scheduled pod
// is removed by the sandbox itself when its grace period ends (or sooner, by a delete
// with gracePeriodSeconds=0, as a kubelet would send).
import type { KindHooks, ObjectAPI } from './api.ts';
import { errors, fieldError, type StatusCause } from './errors.ts';
import type { ResourceType } from './resources.ts';
import type { KubeObject } from './types.ts';
import { deepEqual, isRecord, randomSuffix } from './util.ts';
import { isDNS1123Label } from './validation.ts';

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (isRecord(v) ? v : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isRecord) : []);

export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

function defaultContainer(c: Obj): void {
  const image = typeof c.image === 'string' ? c.image : '';
  const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1];
  c.imagePullPolicy ??= tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const port of arr(c.ports)) port.protocol ??= 'TCP';
}

/** kube's PodSpec defaults, shared by pods and the pod templates of workloads. */
export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) defaultContainer(c);
}

/** Pod defaults: the PodSpec's, plus what pod-only defaulting and admission plugins add. */
function defaultSpec(spec: Obj): void {
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  spec.priority ??= 0;
  const tolerations = arr(spec.tolerations);
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key && (t.effect === 'NoExecute' || !t.effect))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
}

/** The ServiceAccount admission plugin: default SA, must exist, projected token volume. */
function serviceAccountAdmission(api: ObjectAPI, saType: ResourceType, pod: KubeObject): void {
  const spec = rec(pod.spec);
  const name =
    typeof spec.serviceAccountName === 'string' && spec.serviceAccountName
      ? spec.serviceAccountName
      : (typeof spec.serviceAccount === 'string' && spec.serviceAccount) || 'default';
  spec.serviceAccountName = name;
  spec.serviceAccount = name;
  const namespace = pod.metadata.namespace ?? '';
  const sa = api.tryRead(saType, namespace, name);
  if (!sa) {
    throw errors.forbidden(
      `pods "${pod.metadata.name ?? ''}" is forbidden: error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
      { name: pod.metadata.name ?? '', kind: 'pods' },
    );
  }
  const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
  const containers = [...arr(spec.containers), ...arr(spec.initContainers)];
  const mounted = containers.some((c) =>
    arr(c.volumeMounts).some((m) => m.mountPath === TOKEN_MOUNT_PATH),
  );
  if (automount === false || mounted) return;
  const volumeName = `kube-api-access-${randomSuffix()}`;
  spec.volumes = [
    ...arr(spec.volumes),
    {
      name: volumeName,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [
                {
                  path: 'namespace',
                  fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                },
              ],
            },
          },
        ],
      },
    },
  ];
  for (const c of containers) {
    c.volumeMounts = [
      ...arr(c.volumeMounts),
      { name: volumeName, readOnly: true, mountPath: TOKEN_MOUNT_PATH },
    ];
  }
}

/** The container rules kube checks on any PodSpec; `path` is where the spec sits ("spec"). */
export function validatePodSpec(spec: Obj, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const containers = arr(spec.containers);
  if (containers.length === 0)
    causes.push(fieldError('FieldValueRequired', `${path}.containers`, 'Required value'));
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const name = typeof c.name === 'string' ? c.name : '';
    if (!name)
      causes.push(
        fieldError('FieldValueRequired', `${path}.containers[${i}].name`, 'Required value'),
      );
    else if (!isDNS1123Label(name))
      causes.push(
        fieldError(
          'FieldValueInvalid',
          `${path}.containers[${i}].name`,
          `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
        ),
      );
    else if (seen.has(name))
      causes.push(
        fieldError(
          'FieldValueDuplicate',
          `${path}.containers[${i}].name`,
          `Duplicate value: "${name}"`,
        ),
      );
    seen.add(name);
    if (!c.image)
      causes.push(
        fieldError('FieldValueRequired', `${path}.containers[${i}].image`, 'Required value'),
      );
  });
  // Every mount names a volume of the pod.
  const volumes = new Set(arr(spec.volumes).map((v) => v.name));
  for (const list of ['containers', 'initContainers']) {
    arr(spec[list]).forEach((c, i) => {
      arr(c.volumeMounts).forEach((m, j) => {
        if (!volumes.has(m.name)) {
          causes.push(
            fieldError(
              'FieldValueNotFound',
              `${path}.${list}[${i}].volumeMounts[${j}].name`,
              `Not found: ${JSON.stringify(m.name ?? '')}`,
            ),
          );
        }
      });
    });
  }
  return causes;
}

function validatePod(pod: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const causes = validatePodSpec(rec(pod.spec), 'spec');
  if (old && !deepEqual(mutableStripped(old), mutableStripped(pod))) {
    causes.push(
      fieldError(
        'FieldValueForbidden',
        'spec',
        'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
  return causes;
}

/** The pod spec without the fields an update may change. */
function mutableStripped(pod: KubeObject): unknown {
  const spec = structuredClone(rec(pod.spec));
  for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) delete c.image;
  delete spec.activeDeadlineSeconds;
  delete spec.tolerations;
  delete spec.ephemeralContainers;
  delete spec.terminationGracePeriodSeconds;
  return spec;
}

export function podHooks(api: ObjectAPI, saType: ResourceType): KindHooks {
  return {
    prepareCreate(pod) {
      const spec = rec(pod.spec);
      pod.spec = spec;
      defaultSpec(spec);
      serviceAccountAdmission(api, saType, pod);
      pod.status = { phase: 'Pending', qosClass: 'BestEffort' };
    },
    validate: validatePod,
    gracePeriod(pod, requested) {
      const spec = rec(pod.spec);
      const phase = rec(pod.status).phase;
      // Unscheduled and finished pods have nothing to stop: kube deletes them at once.
      if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
      const grace =
        requested ?? pod.metadata.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds;
      return typeof grace === 'number' ? Math.max(0, grace) : 30;
    },
  };
}
