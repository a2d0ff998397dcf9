// The Pod `helm test` runs: what it checks, and that it is as locked down as trustgate's
// own pods. run-with-chart-flags.test.ts runs its command against a live `trustgate run`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  CHART_DIR,
  helmTestPod,
  NAMESPACE,
  only,
  renderChart,
  renderVariantsBeforeAll,
  VARIANTS,
} from './support.ts';

const objectsOf = renderVariantsBeforeAll();

describe('the helm test Pod', () => {
  it('runs files/check-service.js with node from the trustgate image', async () => {
    const objects = objectsOf('defaults');
    const pod = helmTestPod(objects);
    const [container] = pod.spec.containers;
    const [trustgate] = only(objects, 'Deployment').spec.template.spec.containers;
    expect(container.image).toBe(trustgate.image);
    const script = await readFile(path.join(CHART_DIR, 'files', 'check-service.js'), 'utf8');
    expect(container.command).toEqual(['node', '--input-type=module', '--eval', script]);
    expect(pod.metadata.annotations).toEqual({
      'helm.sh/hook': 'test',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(pod.spec.restartPolicy).toBe('Never');
  });

  it.each(Object.keys(VARIANTS))('checks the Service the chart renders (%s)', (variant) => {
    const objects = objectsOf(variant);
    const service = only(objects, 'Service');
    const [container] = helmTestPod(objects).spec.containers;
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    const port = (name: string) =>
      String(service.spec.ports.find((p: { name: string }) => p.name === name).port);
    expect(env).toEqual({
      TRUSTGATE_SERVICE: `${service.metadata.name}.${NAMESPACE}.svc`,
      METRICS_PORT: port('metrics'),
      WEBHOOK_PORT: port('webhook'),
    });
  });

  it("is never selected as one of trustgate's pods", () => {
    const objects = objectsOf('defaults');
    const labels = helmTestPod(objects).metadata.labels ?? {};
    for (const selector of [
      only(objects, 'Service').spec.selector,
      only(objects, 'PodDisruptionBudget').spec.selector.matchLabels,
      only(objects, 'Deployment').spec.selector.matchLabels,
    ]) {
      const matches = Object.entries(selector).every(([k, v]) => labels[k] === v);
      expect(matches).toBe(false);
    }
  });

  it('has no token, no mounts, and the restricted security context', () => {
    const objects = objectsOf('defaults');
    const pod = helmTestPod(objects).spec;
    const trustgate = only(objects, 'Deployment').spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.volumes).toBeUndefined();
    expect(pod.securityContext).toEqual(trustgate.securityContext);
    const [container] = pod.containers;
    expect(container.securityContext).toEqual(trustgate.containers[0].securityContext);
    expect(container.volumeMounts).toBeUndefined();
    expect(container.resources.limits).toEqual({ cpu: '100m', memory: '64Mi' });
  });

  it('can be left out', async () => {
    const { objects } = await renderChart({ 'tests.enabled': false });
    expect(objects.some((o) => o.kind === 'Pod')).toBe(false);
  });
});
