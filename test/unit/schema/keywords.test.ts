import { describe, expect, it } from '@jest/globals';
import {
  compileSchema,
  type FieldError,
  type SchemaInput,
} from '../../../operator/schema/index.ts';

// A plain (non-resource) schema, so each keyword is seen on its own.
const check = (schema: SchemaInput, value: unknown) =>
  compileSchema(schema, { resourceRoot: false }).apply(value);
const errorsOf = (schema: SchemaInput, value: unknown): FieldError[] => check(schema, value).errors;
const obj = (properties: Record<string, SchemaInput>, extra: SchemaInput = {}): SchemaInput => ({
  type: 'object',
  properties,
  ...extra,
});

describe('types', () => {
  it('tells integers from numbers and reports the actual type', () => {
    const s = obj({ n: { type: 'integer' }, d: { type: 'number' } });
    expect(errorsOf(s, { n: 3, d: 3 })).toEqual([]);
    expect(errorsOf(s, { n: 1.5, d: 1.5 })).toEqual([
      {
        field: 'n',
        reason: 'FieldValueTypeInvalid',
        message: 'Invalid value: "number": n in body must be of type integer: "number"',
      },
    ]);
    expect(errorsOf(s, { n: '3' })[0]?.message).toBe(
      'Invalid value: "string": n in body must be of type integer: "string"',
    );
  });

  it('checks strings, booleans, arrays and objects', () => {
    const s = obj({
      s: { type: 'string' },
      b: { type: 'boolean' },
      a: { type: 'array', items: { type: 'string' } },
      o: obj({}),
    });
    const errs = errorsOf(s, { s: 1, b: 'true', a: {}, o: [] });
    expect(errs.map((e) => [e.field, e.reason])).toEqual([
      ['s', 'FieldValueTypeInvalid'],
      ['b', 'FieldValueTypeInvalid'],
      ['a', 'FieldValueTypeInvalid'],
      ['o', 'FieldValueTypeInvalid'],
    ]);
  });

  it('accepts null only where nullable, and drops a non-nullable null before validation', () => {
    const s = obj(
      { a: { type: 'string', nullable: true }, b: { type: 'string' } },
      { required: ['b'] },
    );
    const r = check(s, { a: null, b: null });
    expect(r.object).toEqual({ a: null });
    expect(r.errors).toEqual([
      { field: 'b', reason: 'FieldValueRequired', message: 'Required value' },
    ]);
    const items = obj({ l: { type: 'array', items: { type: 'string' } } });
    expect(errorsOf(items, { l: [null] })[0]?.message).toBe(
      'Invalid value: "null": l[0] in body must be of type string: "null"',
    );
  });

  it('x-kubernetes-int-or-string takes either', () => {
    const s = obj({ port: { 'x-kubernetes-int-or-string': true } });
    expect(errorsOf(s, { port: 80 })).toEqual([]);
    expect(errorsOf(s, { port: 'http' })).toEqual([]);
    expect(errorsOf(s, { port: true })[0]?.reason).toBe('FieldValueTypeInvalid');
  });
});

describe('value keywords', () => {
  it('required names every missing field', () => {
    const s = obj({ a: { type: 'string' }, b: { type: 'string' } }, { required: ['a', 'b'] });
    expect(errorsOf(s, {}).map((e) => e.field)).toEqual(['a', 'b']);
  });

  it('enum answers Unsupported value with the supported ones', () => {
    const s = obj({ mode: { type: 'string', enum: ['Enforce', 'Audit'] } });
    expect(errorsOf(s, { mode: 'Warn' })).toEqual([
      {
        field: 'mode',
        reason: 'FieldValueNotSupported',
        message: 'Unsupported value: "Warn": supported values: "Enforce", "Audit"',
      },
    ]);
  });

  it('pattern is an RE2 regexp matched anywhere unless anchored', () => {
    const s = obj({
      a: { type: 'string', pattern: '^[a-z]+$' },
      b: { type: 'string', pattern: 'x' },
    });
    expect(errorsOf(s, { a: 'abc', b: 'axb' })).toEqual([]);
    expect(errorsOf(s, { a: 'aBc' })).toEqual([
      {
        field: 'a',
        reason: 'FieldValueInvalid',
        message: `Invalid value: "aBc": a in body should match '^[a-z]+$'`,
      },
    ]);
  });

  it('format date-time is RFC 3339', () => {
    const s = obj({ t: { type: 'string', format: 'date-time' } });
    for (const ok of [
      '2026-11-25T10:00:00Z',
      '2026-11-25T10:00:00.123+01:00',
      '2024-02-29T00:00:00Z',
    ]) {
      expect(errorsOf(s, { t: ok })).toEqual([]);
    }
    for (const bad of ['2026-11-25', 'tomorrow', '2026-02-30T00:00:00Z', '2026-11-25T25:00:00Z']) {
      expect(errorsOf(s, { t: bad })).toEqual([
        {
          field: 't',
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: ${JSON.stringify(bad)}: t in body must be of type date-time: ${JSON.stringify(bad)}`,
        },
      ]);
    }
  });

  it('minimum and maximum, inclusive and exclusive', () => {
    const s = obj({
      n: { type: 'integer', minimum: 600, maximum: 1000 },
      x: { type: 'number', minimum: 0, exclusiveMinimum: true },
    });
    expect(errorsOf(s, { n: 600, x: 0.1 })).toEqual([]);
    expect(errorsOf(s, { n: 599 })[0]?.message).toBe(
      'Invalid value: 599: n in body should be greater than or equal to 600',
    );
    expect(errorsOf(s, { n: 1001 })[0]?.message).toBe(
      'Invalid value: 1001: n in body should be less than or equal to 1000',
    );
    expect(errorsOf(s, { x: 0 })[0]?.message).toBe(
      'Invalid value: 0: x in body should be greater than 0',
    );
  });

  it('minLength and maxLength count characters', () => {
    const s = obj({ s: { type: 'string', minLength: 2, maxLength: 3 } });
    expect(errorsOf(s, { s: 'äöü' })).toEqual([]);
    expect(errorsOf(s, { s: 'a' })[0]?.message).toBe(
      'Invalid value: "a": s in body should be at least 2 chars long',
    );
    expect(errorsOf(s, { s: 'abcd' })).toEqual([
      {
        field: 's',
        reason: 'FieldValueTooLong',
        message: 'Too long: may not be more than 3 bytes',
      },
    ]);
  });

  it('minItems, maxItems and maxProperties', () => {
    const s = obj({
      l: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 },
      m: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1 },
    });
    expect(errorsOf(s, { l: ['a'], m: { a: 'x' } })).toEqual([]);
    expect(errorsOf(s, { l: [] })[0]?.message).toBe(
      'Invalid value: 0: l in body should have at least 1 items',
    );
    expect(errorsOf(s, { l: ['a', 'b', 'c'] })).toEqual([
      {
        field: 'l',
        reason: 'FieldValueTooMany',
        message: 'Too many: 3: must have at most 2 items',
      },
    ]);
    expect(errorsOf(s, { m: { a: 'x', b: 'y' } })[0]).toEqual({
      field: 'm',
      reason: 'FieldValueTooMany',
      message: 'Too many: 2: must have at most 1 items',
    });
  });

  it('additionalProperties validates every value', () => {
    const s = obj({
      labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 3 } },
    });
    expect(errorsOf(s, { labels: { a: 'abc', b: 1 } })).toEqual([
      {
        field: 'labels.b',
        reason: 'FieldValueTypeInvalid',
        message: 'Invalid value: "integer": labels.b in body must be of type string: "integer"',
      },
    ]);
  });
});

describe('list types', () => {
  it('a set refuses duplicates at the index of the repeat', () => {
    const s = obj({
      algs: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    });
    expect(errorsOf(s, { algs: ['ES256', 'ES384'] })).toEqual([]);
    expect(errorsOf(s, { algs: ['ES256', 'ES384', 'ES256'] })).toEqual([
      { field: 'algs[2]', reason: 'FieldValueDuplicate', message: 'Duplicate value: "ES256"' },
    ]);
  });

  it('a map list refuses two items with the same keys', () => {
    const s = obj({
      items: {
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        items: obj({ name: { type: 'string' }, v: { type: 'integer' } }, { required: ['name'] }),
      },
    });
    expect(errorsOf(s, { items: [{ name: 'a' }, { name: 'b' }] })).toEqual([]);
    expect(
      errorsOf(s, {
        items: [
          { name: 'a', v: 1 },
          { name: 'a', v: 2 },
        ],
      }),
    ).toEqual([
      {
        field: 'items[1]',
        reason: 'FieldValueDuplicate',
        message: 'Duplicate value: {"name":"a"}',
      },
    ]);
  });

  it('x-kubernetes-map-type atomic or granular does not change validation', () => {
    for (const mapType of ['atomic', 'granular'] as const) {
      const s = obj({
        sel: {
          type: 'object',
          additionalProperties: { type: 'string' },
          'x-kubernetes-map-type': mapType,
        },
      });
      expect(errorsOf(s, { sel: { a: 'b' } })).toEqual([]);
    }
  });

  it('reports structural mistakes in the schema itself', () => {
    const bad = compileSchema(
      obj({
        a: {
          type: 'array',
          items: obj({ k: { type: 'string' } }),
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['k'],
        },
        b: { type: 'array', items: obj({}), 'x-kubernetes-list-type': 'set' },
        c: { description: 'no type' } as SchemaInput,
        d: { type: 'string', pattern: '(' },
      }),
      { resourceRoot: false },
    );
    expect(bad.schemaErrors.map((e) => e.field)).toEqual([
      'openAPIV3Schema.properties[a].items.properties[k]',
      'openAPIV3Schema.properties[b].items.type',
      'openAPIV3Schema.properties[c].type',
      'openAPIV3Schema.properties[d].pattern',
    ]);
  });
});

describe('defaulting', () => {
  const s = obj({
    a: { type: 'string', default: 'x' },
    nested: obj({
      n: { type: 'integer', default: 5 },
      deep: obj({ z: { type: 'boolean', default: true } }),
    }),
    withDefaultObject: obj({ q: { type: 'string', default: 'q' } }, { default: {} }),
    list: {
      type: 'array',
      items: obj({
        name: { type: 'string' },
        algs: { type: 'array', items: { type: 'string' }, default: ['ES256'] },
      }),
    },
    nullable: { type: 'string', nullable: true, default: 'd' },
  });

  it('fills absent fields, inside present objects and array items, and inside defaulted values', () => {
    const { object, errors } = check(s, {
      nested: { deep: {} },
      list: [{ name: 'a' }, { name: 'b', algs: ['RS256'] }],
    });
    expect(errors).toEqual([]);
    expect(object).toEqual({
      a: 'x',
      nested: { n: 5, deep: { z: true } },
      withDefaultObject: { q: 'q' },
      nullable: 'd',
      list: [
        { name: 'a', algs: ['ES256'] },
        { name: 'b', algs: ['RS256'] },
      ],
    });
  });

  it('does not create absent parents, keeps a nullable null and defaults a non-nullable null', () => {
    const { object } = check(s, { a: null, nullable: null });
    expect(object).toEqual({ a: 'x', nullable: null, withDefaultObject: { q: 'q' } });
  });

  it('returns a copy and leaves the input alone', () => {
    const input = { list: [{ name: 'a' }] };
    check(s, input);
    expect(input).toEqual({ list: [{ name: 'a' }] });
  });
});

describe('pruning', () => {
  const s = obj({
    known: obj({ a: { type: 'string' } }),
    free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    mixed: obj({ a: { type: 'string' } }, { 'x-kubernetes-preserve-unknown-fields': true }),
    list: { type: 'array', items: obj({ a: { type: 'string' } }) },
  });

  it('drops unknown fields and lists their paths', () => {
    const r = check(s, {
      foo: 1,
      known: { a: 'x', b: 2 },
      list: [{ a: 'x', c: 3 }],
      free: { any: { thing: 1 } },
      mixed: { a: 'x', extra: 1 },
    });
    expect(r.object).toEqual({
      known: { a: 'x' },
      list: [{ a: 'x' }],
      free: { any: { thing: 1 } },
      mixed: { a: 'x', extra: 1 },
    });
    expect(r.unknownFields).toEqual(['foo', 'known.b', 'list[0].c']);
    expect(r.errors).toEqual([]);
  });

  it('strict field validation reports them the way fieldValidation=Strict does', () => {
    const r = compileSchema(s, { resourceRoot: false }).apply(
      { foo: 1, known: { b: 2 } },
      { strictFieldValidation: true },
    );
    expect(r.errors).toEqual([
      { field: 'foo', reason: 'UnknownField', message: 'unknown field "foo"' },
      { field: 'known.b', reason: 'UnknownField', message: 'unknown field "known.b"' },
    ]);
  });
});

describe('custom resource root', () => {
  const root = obj({ spec: obj({ a: { type: 'string' } }) }, { required: ['spec'] });

  it('keeps apiVersion, kind and ObjectMeta fields, prunes unknown metadata', () => {
    const r = compileSchema(root).apply({
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', labels: { l: 'v' }, bogus: 1 },
      spec: {},
    });
    expect(r.object).toEqual({
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', labels: { l: 'v' } },
      spec: {},
    });
    expect(r.unknownFields).toEqual(['metadata.bogus']);
  });

  it('requires a DNS-1123 subdomain name and valid labels', () => {
    const errs = compileSchema(root).apply({
      metadata: { name: 'Not_OK', labels: { 'a/b/c': 'v', ok: 'bad value' } },
      spec: {},
    }).errors;
    expect(errs.map((e) => [e.field, e.message.slice(0, 30)])).toEqual([
      ['metadata.name', 'Invalid value: "Not_OK": a low'],
      ['metadata.labels', 'Invalid value: "a/b/c": a qual'],
      ['metadata.labels', 'Invalid value: "bad value": a '],
    ]);
    expect(compileSchema(root).apply({ metadata: {}, spec: {} }).errors).toEqual([
      {
        field: 'metadata.name',
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
      },
    ]);
    expect(
      compileSchema(root).apply({ metadata: { name: 'a'.repeat(254) }, spec: {} }).errors[0]
        ?.message,
    ).toContain('must be no more than 253 characters');
  });
});

describe('ratcheting on update', () => {
  const s = obj({ a: { type: 'string', maxLength: 3 }, b: { type: 'string', maxLength: 3 } });
  it('keeps an unchanged invalid value and still refuses a changed one', () => {
    const compiled = compileSchema(s, { resourceRoot: false });
    const old = { a: 'toolong', b: 'ok' };
    expect(compiled.apply({ a: 'toolong', b: 'ok' }, { oldObject: old }).errors).toEqual([]);
    expect(
      compiled.apply({ a: 'toolong', b: 'long!' }, { oldObject: old }).errors.map((e) => e.field),
    ).toEqual(['b']);
    expect(compiled.apply({ a: 'toolong' }).errors.map((e) => e.field)).toEqual(['a']);
  });
});
