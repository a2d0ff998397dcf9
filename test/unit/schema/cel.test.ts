import { describe, expect, it } from '@jest/globals';
import { compileSchema, type SchemaInput } from '../../../operator/schema/index.ts';
import { defaultedResource } from '../../../operator/schema/resources.ts';

const API = 'trustgate.dev/v1alpha1';
const verifier = { name: 'v', issuer: 'https://v', jwks: { keys: [{ kty: 'EC' }] } };
const policy = (spec: Record<string, unknown>, name = 'p') => ({
  apiVersion: API,
  kind: 'EndpointTrustPolicy',
  metadata: { name },
  spec: { attestation: { verifiers: [verifier] }, ...spec },
});
const withAttestation = (attestation: Record<string, unknown>) =>
  policy({ attestation: { verifiers: [verifier], ...attestation } });
const grant = (spec: Record<string, unknown>) => ({
  apiVersion: API,
  kind: 'WorkloadGrant',
  metadata: { name: 'g', namespace: 'ci' },
  spec: { serviceAccountName: 'sa', policyRef: { name: 'p' }, ...spec },
});
const errorsOf = (obj: unknown) => defaultedResource(obj).errors;

describe('trustgate CRD rules (operator/api/crds.ts)', () => {
  it('maxAge is a duration between 1s and 168h, and the default 5m passes', () => {
    for (const ok of ['1s', '2m', '168h', '1h30m', '0.5h']) {
      expect(errorsOf(withAttestation({ maxAge: ok }))).toEqual([]);
    }
    for (const bad of ['500ms', '169h', '200h']) {
      expect(errorsOf(withAttestation({ maxAge: bad }))).toEqual([
        {
          field: 'spec.attestation.maxAge',
          reason: 'FieldValueInvalid',
          message: 'Invalid value: "object": maxAge must be between 1s and 168h',
        },
      ]);
    }
    expect(defaultedResource(policy({})).object).toMatchObject({
      spec: { attestation: { maxAge: '5m' } },
    });
  });

  it('a verifier sets exactly one of jwks and jwksSecretRef', () => {
    const v = (extra: Record<string, unknown>) =>
      withAttestation({ verifiers: [{ name: 'v', issuer: 'i', ...extra }] });
    expect(errorsOf(v({ jwksSecretRef: { name: 'keys' } }))).toEqual([]);
    const want = [
      {
        field: 'spec.attestation.verifiers[0]',
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "object": set exactly one of jwks and jwksSecretRef',
      },
    ];
    expect(errorsOf(v({}))).toEqual(want);
    expect(
      errorsOf(v({ jwks: { keys: [{ kty: 'EC' }] }, jwksSecretRef: { name: 'keys' } })),
    ).toEqual(want);
  });

  it('posture operators take the right number and kind of values', () => {
    const req = (r: Record<string, unknown>) => withAttestation({ posture: [{ key: 'k', ...r }] });
    const fails = (r: Record<string, unknown>) =>
      errorsOf(req(r)).map((e) => e.message.replace('Invalid value: "object": ', ''));
    expect(fails({ operator: 'Exists' })).toEqual([]);
    expect(fails({ operator: 'Equals', values: ['true'] })).toEqual([]);
    expect(fails({ operator: 'In', values: ['a', 'b'] })).toEqual([]);
    expect(fails({ operator: 'LessThanOrEqual', values: ['14'] })).toEqual([]);
    expect(fails({ operator: 'VersionAtLeast', values: ['14.2.1'] })).toEqual([]);
    expect(fails({ operator: 'Exists', values: ['x'] })).toEqual([
      'Exists and DoesNotExist take no values',
    ]);
    expect(fails({ operator: 'Equals', values: ['a', 'b'] })).toEqual([
      'Equals, NotEquals, LessThanOrEqual, GreaterThanOrEqual and VersionAtLeast take exactly one value',
    ]);
    expect(fails({ operator: 'NotIn', values: [] })).toEqual([
      'In and NotIn take at least one value',
    ]);
    expect(fails({ operator: 'GreaterThanOrEqual', values: ['many'] })).toEqual([
      'LessThanOrEqual and GreaterThanOrEqual compare numbers',
    ]);
    expect(fails({ operator: 'VersionAtLeast', values: ['latest'] })).toEqual([
      'VersionAtLeast compares dotted versions such as 14.2.1',
    ]);
    expect(errorsOf(req({ operator: 'Equals', values: ['a', 'b'] }))[0]?.field).toBe(
      'spec.attestation.posture[0]',
    );
  });

  it("a grant's window ends after it starts (timestamps, reported at notAfter)", () => {
    const w = (notBefore: string, notAfter: string) => grant({ validity: { notBefore, notAfter } });
    expect(errorsOf(w('2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z'))).toEqual([]);
    expect(errorsOf(grant({ validity: { notAfter: '2026-01-01T00:00:00Z' } }))).toEqual([]);
    for (const bad of [
      w('2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z'),
      w('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'),
    ]) {
      expect(errorsOf(bad)).toEqual([
        {
          field: 'spec.validity.notAfter',
          reason: 'FieldValueInvalid',
          message: 'Invalid value: "object": notAfter must be after notBefore',
        },
      ]);
    }
    // Offsets are compared as instants, not as text.
    expect(errorsOf(w('2026-01-01T10:00:00+02:00', '2026-01-01T09:00:00Z'))).toEqual([]);
  });

  it('policy names are at most 63 characters (a rule on metadata.name)', () => {
    expect(errorsOf(policy({}, 'a'.repeat(63)))).toEqual([]);
    expect(errorsOf(policy({}, 'a'.repeat(64)))).toEqual([
      {
        field: '',
        reason: 'FieldValueInvalid',
        message:
          'Invalid value: "object": policy names are at most 63 characters: they become node label keys',
      },
    ]);
  });

  it('a TrustExemption needs expiresAt and reason, and its expiry never moves later', () => {
    const ex = (spec: Record<string, unknown>) => ({
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'TrustExemption',
      metadata: { name: 'inc-1', namespace: 'ci' },
      spec,
    });
    const at = (expiresAt: string) => ex({ expiresAt, reason: 'INC-1' });
    // kube adds "some validation rules were not checked" after a missing required field.
    expect(errorsOf(ex({ reason: 'r' }))[0]?.field).toBe('spec.expiresAt');
    expect(errorsOf(ex({ expiresAt: '2026-12-01T00:00:00Z' }))[0]?.field).toBe('spec.reason');
    const old = at('2026-12-01T00:00:00Z');
    const update = (next: unknown) => defaultedResource(next, { oldObject: old }).errors;
    expect(update(at('2026-11-30T00:00:00Z'))).toEqual([]);
    expect(update(at('2026-12-02T00:00:00Z'))).toEqual([
      expect.objectContaining({
        field: 'spec.expiresAt',
        message: expect.stringContaining('expiresAt may be brought forward but never extended'),
      }),
    ]);
  });

  it('an exemption names namespaces or a podSelector', () => {
    const ex = (e: Record<string, unknown>) =>
      policy({ exemptions: [{ name: 'e', expiresAt: '2026-12-01T00:00:00Z', reason: 'r', ...e }] });
    expect(errorsOf(ex({ namespaces: ['ci'] }))).toEqual([]);
    expect(errorsOf(ex({ podSelector: {} }))).toEqual([]);
    const want = [
      {
        field: 'spec.exemptions[0]',
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "object": an exemption names namespaces or a podSelector',
      },
    ];
    expect(errorsOf(ex({}))).toEqual(want);
    expect(errorsOf(ex({ namespaces: [] }))).toEqual(want);
  });

  it('label selector operators: In/NotIn need values, Exists/DoesNotExist take none', () => {
    const sel = (expr: Record<string, unknown>) =>
      policy({ nodeSelector: { matchExpressions: [{ key: 'k', ...expr }] } });
    expect(errorsOf(sel({ operator: 'In', values: ['a'] }))).toEqual([]);
    expect(errorsOf(sel({ operator: 'Exists' }))).toEqual([]);
    const msg =
      'Invalid value: "object": In and NotIn need values; Exists and DoesNotExist take none';
    expect(errorsOf(sel({ operator: 'NotIn', values: [] }))).toEqual([
      { field: 'spec.nodeSelector.matchExpressions[0]', reason: 'FieldValueInvalid', message: msg },
    ]);
    expect(errorsOf(sel({ operator: 'DoesNotExist', values: ['a'] }))[0]?.message).toBe(msg);
    // Without values the rule cannot even read self.values: kube reports the evaluation error.
    expect(errorsOf(sel({ operator: 'In' }))[0]?.message).toBe(
      'Invalid value: "object": no such key: values evaluating rule: In and NotIn need values; Exists and DoesNotExist take none',
    );
  });

  it('skips every rule when the object has a blocking schema error, as kube does', () => {
    const errs = errorsOf(withAttestation({ maxAge: '200h', minimumStatus: 'great' }));
    expect(errs.map((e) => e.field)).toEqual(['spec.attestation.minimumStatus', '<nil>']);
    expect(errs[1]?.message).toBe(
      'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    );
  });
});

describe('CEL engine', () => {
  const schemaWith = (
    rules: NonNullable<SchemaInput['x-kubernetes-validations']>,
    props: Record<string, SchemaInput> = {},
  ): SchemaInput => ({
    type: 'object',
    properties: {
      n: { type: 'integer' },
      s: { type: 'string' },
      'x-y': { type: 'string' },
      ...props,
    },
    'x-kubernetes-validations': rules,
  });
  const plain = (s: SchemaInput) => compileSchema(s, { resourceRoot: false });

  it('reports a rule that does not compile, and never throws', () => {
    const compiled = plain(
      schemaWith([
        { rule: 'self.n >', message: 'm' },
        { rule: 'self.nope == 1', message: 'm' },
        { rule: 'self.n + 1', message: 'm' },
      ]),
    );
    expect(compiled.schemaErrors.map((e) => e.field)).toEqual([
      'openAPIV3Schema.x-kubernetes-validations[0].rule',
      'openAPIV3Schema.x-kubernetes-validations[1].rule',
      'openAPIV3Schema.x-kubernetes-validations[2].rule',
    ]);
    expect(compiled.schemaErrors[0]?.message).toMatch(
      /^Invalid value: "self.n >": compilation failed: /,
    );
    expect(compiled.schemaErrors[2]?.message).toContain('must evaluate to a bool');
    const r = compiled.apply({ n: 1 });
    expect(r.errors.map((e) => e.message.slice(0, 45))).toEqual(
      Array(3).fill('Invalid value: "object": rule compile error: '),
    );
  });

  it('types integers as int and numbers as double', () => {
    const c = plain(schemaWith([{ rule: 'self.n + 1 == 3', message: 'n must be 2' }]));
    expect(c.schemaErrors).toEqual([]);
    expect(c.apply({ n: 2 }).errors).toEqual([]);
    expect(c.apply({ n: 5 }).errors[0]?.message).toBe('Invalid value: "object": n must be 2');
    const d = plain({
      type: 'object',
      properties: { x: { type: 'number' } },
      'x-kubernetes-validations': [{ rule: 'self.x > 1.5', message: 'm' }],
    });
    expect(d.apply({ x: 2 }).errors).toEqual([]);
  });

  it('escapes property names as kube does and supports in, exists, matches, size', () => {
    const c = plain(
      schemaWith(
        [
          { rule: "self.x__dash__y in ['a', 'b']", message: 'x-y is a or b' },
          { rule: "self.s.matches('^[a-z]+$') && size(self.s) < 5", message: 'short lowercase s' },
          { rule: "self.l.exists(i, i == 'z')", message: 'l has z' },
        ],
        { l: { type: 'array', items: { type: 'string' } } },
      ),
    );
    expect(c.schemaErrors).toEqual([]);
    expect(c.apply({ 'x-y': 'a', s: 'abc', l: ['z'] }).errors).toEqual([]);
    expect(c.apply({ 'x-y': 'c', s: 'ABC', l: [] }).errors.map((e) => e.message)).toEqual([
      'Invalid value: "object": x-y is a or b',
      'Invalid value: "object": short lowercase s',
      'Invalid value: "object": l has z',
    ]);
  });

  it('uses the default message, reason, fieldPath and messageExpression', () => {
    const c = plain(
      schemaWith([
        { rule: 'self.n > 0', message: '' },
        {
          rule: 'self.n > 1',
          message: 'n too small',
          reason: 'FieldValueForbidden',
          fieldPath: '.n',
        },
        { rule: 'self.n > 2', message: 'static', messageExpression: "'n is ' + string(self.n)" },
      ]),
    );
    expect(c.apply({ n: 0 }).errors).toEqual([
      {
        field: '',
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "object": failed rule: self.n > 0',
      },
      { field: 'n', reason: 'FieldValueForbidden', message: 'Forbidden: n too small' },
      { field: '', reason: 'FieldValueInvalid', message: 'Invalid value: "object": n is 0' },
    ]);
  });

  it('runs transition rules only on update, with oldSelf', () => {
    const c = plain(schemaWith([{ rule: 'self.n >= oldSelf.n', message: 'n may only grow' }]));
    expect(c.apply({ n: 1 }).errors).toEqual([]);
    expect(c.apply({ n: 2 }, { oldObject: { n: 1 } }).errors).toEqual([]);
    expect(c.apply({ n: 1 }, { oldObject: { n: 2 } }).errors[0]?.message).toBe(
      'Invalid value: "object": n may only grow',
    );
  });

  it('correlates map-list items by key for oldSelf', () => {
    const c = plain({
      type: 'object',
      properties: {
        l: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, v: { type: 'string' } },
            'x-kubernetes-validations': [
              { rule: 'self.v == oldSelf.v', message: 'v is immutable' },
            ],
          },
        },
      },
    });
    const old = {
      l: [
        { name: 'a', v: '1' },
        { name: 'b', v: '2' },
      ],
    };
    expect(
      c.apply(
        {
          l: [
            { name: 'b', v: '2' },
            { name: 'a', v: '1' },
            { name: 'c', v: '9' },
          ],
        },
        { oldObject: old },
      ).errors,
    ).toEqual([]);
    expect(c.apply({ l: [{ name: 'b', v: '3' }] }, { oldObject: old }).errors).toEqual([
      {
        field: 'l[0]',
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "object": v is immutable',
      },
    ]);
  });

  it('ratchets an unchanged value whose non-transition rule fails', () => {
    const c = plain(schemaWith([{ rule: 'self.n < 10', message: 'n < 10' }]));
    expect(c.apply({ n: 20 }, { oldObject: { n: 20 } }).errors).toEqual([]);
    expect(c.apply({ n: 21 }, { oldObject: { n: 20 } }).errors).toHaveLength(1);
  });

  it('compares durations and timestamps, date-time fields being timestamps already', () => {
    const c = plain({
      type: 'object',
      properties: { d: { type: 'string' }, t: { type: 'string', format: 'date-time' } },
      'x-kubernetes-validations': [
        { rule: "duration(self.d) < duration('1h')", message: 'd < 1h' },
        {
          rule: "self.t > timestamp('2026-01-01T00:00:00Z') && timestamp(self.t) == self.t",
          message: 't in 2026',
        },
      ],
    });
    expect(c.schemaErrors).toEqual([]);
    expect(c.apply({ d: '59m', t: '2026-06-01T00:00:00Z' }).errors).toEqual([]);
    expect(c.apply({ d: '2h', t: '2025-06-01T00:00:00Z' }).errors.map((e) => e.message)).toEqual([
      'Invalid value: "object": d < 1h',
      'Invalid value: "object": t in 2026',
    ]);
  });

  it('does not evaluate rules on absent values', () => {
    const c = plain({
      type: 'object',
      properties: {
        o: {
          type: 'object',
          properties: { a: { type: 'string' } },
          'x-kubernetes-validations': [{ rule: 'false', message: 'never' }],
        },
      },
    });
    expect(c.apply({}).errors).toEqual([]);
    expect(c.apply({ o: {} }).errors).toHaveLength(1);
  });
});
