import { describe, expect, it } from '@jest/globals';
import {
  admissionResponse,
  allow,
  decodeAdmissionReview,
  deny,
  ReviewDecodeError,
} from '../../../webhook/codec.ts';
import { podReview, runnerPod } from './world.ts';

function reasonOf(body: unknown): string {
  try {
    decodeAdmissionReview(body);
  } catch (err) {
    if (err instanceof ReviewDecodeError) return err.reason;
    throw err;
  }
  return 'decoded';
}

describe('decodeAdmissionReview', () => {
  it('decodes the review kube-apiserver sends', () => {
    const body = podReview(runnerPod('r1'), 'ci');
    const req = decodeAdmissionReview(JSON.stringify(body));
    expect(req.uid).toBe(body.request.uid);
    expect(req.resource).toEqual({ group: '', version: 'v1', resource: 'pods' });
    expect(req.operation).toBe('CREATE');
    expect(req.namespace).toBe('ci');
    expect(req.userInfo.username).toBe('system:serviceaccount:ci:deployer');
    expect(req.subResource).toBe('');
    expect(req.oldObject).toBeNull();
  });

  it('accepts a Buffer body', () => {
    const body = podReview(runnerPod('r1'), 'ci');
    expect(decodeAdmissionReview(Buffer.from(JSON.stringify(body))).uid).toBe(body.request.uid);
  });

  it.each([
    ['{not json', 'InvalidJSON'],
    ['[]', 'NotAnObject'],
    ['null', 'NotAnObject'],
    ['"x"', 'NotAnObject'],
    [
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1beta1',
        kind: 'AdmissionReview',
        request: { uid: 'a' },
      }),
      'WrongAPIVersion',
    ],
    [
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: { uid: 'a' } }),
      'WrongKind',
    ],
    [
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }),
      'MissingRequest',
    ],
    [
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: [] }),
      'MissingRequest',
    ],
    [
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }),
      'MissingUID',
    ],
    [
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { uid: 7 },
      }),
      'MissingUID',
    ],
  ])('refuses %s with %s', (body, reason) => {
    expect(reasonOf(body)).toBe(reason);
  });

  it.each([
    ['operation', 'DESTROY'],
    ['operation', 3],
    ['kind', 'Pod'],
    ['resource', { group: '', version: 'v1' }],
    ['namespace', 42],
    ['object', 'a pod'],
    ['object', [1]],
    ['userInfo', 'root'],
    ['dryRun', 'yes'],
  ])('refuses request.%s = %j as InvalidField', (field, value) => {
    const body = podReview(runnerPod('r1'), 'ci');
    (body.request as Record<string, unknown>)[field] = value;
    expect(reasonOf(body)).toBe('InvalidField');
  });

  it('refuses userInfo.groups that are not strings', () => {
    const body = podReview(runnerPod('r1'), 'ci');
    body.request.userInfo = { username: 'u', groups: [1] } as never;
    expect(reasonOf(body)).toBe('InvalidField');
  });
});

describe('admissionResponse', () => {
  it('echoes the uid and answers allowed with warnings and audit annotations', () => {
    const out = admissionResponse(
      'u-1',
      allow({ warnings: ['w1'], auditAnnotations: { policies: 'p' } }),
    );
    expect(out).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: 'u-1',
        allowed: true,
        warnings: ['w1'],
        auditAnnotations: { policies: 'p' },
      },
    });
  });

  it('denies with a status code, reason, message and causes', () => {
    const out = admissionResponse(
      'u-2',
      deny('bad', {
        code: 422,
        statusReason: 'Invalid',
        causes: [{ field: 'spec.x', reason: 'FieldValueInvalid', message: 'm' }],
      }),
    ) as { response: Record<string, unknown> };
    expect(out.response).toEqual({
      uid: 'u-2',
      allowed: false,
      status: {
        code: 422,
        reason: 'Invalid',
        message: 'bad',
        details: { causes: [{ field: 'spec.x', reason: 'FieldValueInvalid', message: 'm' }] },
      },
    });
  });

  it('keeps warnings single-line and bounded', () => {
    const out = admissionResponse(
      'u',
      allow({ warnings: Array.from({ length: 40 }, () => `a\nb${'x'.repeat(2000)}`) }),
    ) as {
      response: { warnings: string[] };
    };
    expect(out.response.warnings).toHaveLength(16);
    expect(out.response.warnings[0]).not.toContain('\n');
    expect(out.response.warnings[0]?.length).toBeLessThanOrEqual(1000);
  });
});
