// x-kubernetes-validations: CEL rules compiled once per schema with
// @marcbachmann/cel-js, typed the way kube-apiserver types `self` (objects with declared
// properties, int vs double, date-time strings as timestamps), and evaluated over a value
// with kube's semantics: rules run where a value is present, transition rules (oldSelf)
// only on update where the old value correlates, unchanged values ratchet.

import { Environment } from '@marcbachmann/cel-js';
import { type FieldError, fieldErrors, fieldPath } from './errors.ts';
import { isObject } from './prune.ts';
import type { SchemaNode, ValidationRule } from './structural.ts';
import { correlateMapListItem, deepEqual, NO_OLD, type Old } from './validate.ts';

type Program = (ctx: Record<string, unknown>) => unknown;

export interface CompiledRule {
  rule: ValidationRule;
  index: number;
  program: Program | undefined;
  messageProgram: Program | undefined;
  compileError: string | undefined;
  isTransition: boolean;
}

// CEL keywords kube escapes as __kw__ when they are property names.
const RESERVED = new Set(
  'true false null in as break const continue else for function if import let loop package namespace return var void while'.split(
    ' ',
  ),
);

/** kube's property-name escaping for CEL (x-foo -> x__dash__foo); undefined when inaccessible. */
export function escapeProperty(name: string): string | undefined {
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z_][a-zA-Z0-9_./-]*$/.test(name)) return undefined;
  return name
    .replaceAll('__', '__underscores__')
    .replaceAll('.', '__dot__')
    .replaceAll('-', '__dash__')
    .replaceAll('/', '__slash__');
}

/** The CEL view of a schema: a type per object node and a constructor for its values. */
class CelTypes {
  readonly env: Environment;
  private readonly names = new Map<SchemaNode, string>();
  private readonly ctors = new Map<
    SchemaNode,
    new (
      entries: [string, unknown][],
    ) => Map<string, unknown>
  >();
  private count = 0;
  private readonly resourceRoot: SchemaNode | undefined;
  private readonly metaCtor: new (
    entries: [string, unknown][],
  ) => Map<string, unknown>;

  constructor(root: SchemaNode, isResourceRoot: boolean) {
    // What kube adds that cel-js lacks: identity conversions of timestamps and durations
    // (date-time fields are already timestamps, so `timestamp(self.notAfter)` must work).
    this.env = new Environment({ homogeneousAggregateLiterals: false })
      .registerFunction(
        'timestamp(google.protobuf.Timestamp): google.protobuf.Timestamp',
        (t: unknown) => t,
      )
      .registerFunction(
        'duration(google.protobuf.Duration): google.protobuf.Duration',
        (d: unknown) => d,
      );
    this.resourceRoot = isResourceRoot ? root : undefined;
    // Only metadata.name and metadata.generateName are visible to rules, as in kube.
    this.metaCtor = class ObjectMetaCel extends Map<string, unknown> {};
    this.env.registerType('ObjectMeta', {
      ctor: this.metaCtor,
      fields: { name: 'string', generateName: 'string' },
    });
    this.typeOf(root);
  }

  typeOf(node: SchemaNode): string {
    if (node.nullable || node.intOrString) return 'dyn';
    switch (node.type) {
      case 'integer':
        return 'int';
      case 'number':
        return 'double';
      case 'boolean':
        return 'bool';
      case 'string':
        if (node.format === 'date-time' || node.format === 'date')
          return 'google.protobuf.Timestamp';
        if (node.format === 'duration') return 'google.protobuf.Duration';
        return 'string';
      case 'array':
        return node.items ? `list<${this.typeOf(node.items)}>` : 'list<dyn>';
      case 'object':
        if (node.properties) return this.objectType(node);
        if (typeof node.additionalProperties === 'object') {
          return `map<string, ${this.typeOf(node.additionalProperties)}>`;
        }
        return 'dyn';
      default:
        return 'dyn';
    }
  }

  private objectType(node: SchemaNode): string {
    const known = this.names.get(node);
    if (known) return known;
    const fields: Record<string, string> = {};
    for (const [name, prop] of node.properties ?? []) {
      const escaped = escapeProperty(name);
      if (escaped === undefined) continue;
      fields[escaped] =
        node === this.resourceRoot && name === 'metadata' ? 'ObjectMeta' : this.typeOf(prop);
    }
    const typeName = `Object${++this.count}`;
    const ctor = { [typeName]: class extends Map<string, unknown> {} }[typeName] as new (
      entries: [string, unknown][],
    ) => Map<string, unknown>;
    this.env.registerType(typeName, { ctor, fields });
    this.names.set(node, typeName);
    this.ctors.set(node, ctor);
    return typeName;
  }

  /** A JSON value as the CEL runtime expects it for `node`'s type. */
  toCel(value: unknown, node: SchemaNode): unknown {
    if (value === null || value === undefined) return null;
    if (node.nullable || node.intOrString || node.type === undefined) return toDyn(value);
    switch (node.type) {
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
      case 'string':
        if ((node.format === 'date-time' || node.format === 'date') && typeof value === 'string') {
          const d = new Date(value);
          return Number.isNaN(d.getTime()) ? value : d;
        }
        if (node.format === 'duration' && typeof value === 'string') {
          return this.parseDuration(value);
        }
        return value;
      case 'array':
        return Array.isArray(value) && node.items
          ? Array.from(value, (v) => this.toCel(v, node.items as SchemaNode))
          : toDyn(value);
      case 'object': {
        if (!isObject(value)) return value;
        const ctor = this.ctors.get(node);
        if (ctor && node.properties) {
          const entries: [string, unknown][] = [];
          for (const [name, prop] of node.properties) {
            const escaped = escapeProperty(name);
            if (escaped === undefined || value[name] === undefined) continue;
            if (node === this.resourceRoot && name === 'metadata') {
              entries.push([escaped, this.metadataToCel(value[name])]);
            } else {
              entries.push([escaped, this.toCel(value[name], prop)]);
            }
          }
          return new ctor(entries);
        }
        if (typeof node.additionalProperties === 'object') {
          const extra = node.additionalProperties;
          return new Map(Object.entries(value).map(([k, v]) => [k, this.toCel(v, extra)]));
        }
        return toDyn(value);
      }
      default:
        return value;
    }
  }

  private metadataToCel(meta: unknown): unknown {
    const m = isObject(meta) ? meta : {};
    const entries: [string, unknown][] = [];
    if (typeof m.name === 'string') entries.push(['name', m.name]);
    if (typeof m.generateName === 'string') entries.push(['generateName', m.generateName]);
    return new this.metaCtor(entries);
  }

  private durationProgram: Program | undefined;
  private parseDuration(value: string): unknown {
    this.durationProgram ??= this.env.parse('duration(s)') as unknown as Program;
    try {
      return this.durationProgram({ s: value });
    } catch {
      return value;
    }
  }
}

function toDyn(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return Array.from(value, toDyn);
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toDyn(v)]));
  return value;
}

function usesIdentifier(ast: unknown, name: string): boolean {
  const stack: unknown[] = [ast];
  while (stack.length) {
    const n = stack.pop();
    if (Array.isArray(n)) {
      stack.push(...n);
    } else if (n && typeof n === 'object' && 'op' in n) {
      const node = n as { op: string; args: unknown };
      if (node.op === 'id' && node.args === name) return true;
      stack.push(node.args);
    }
  }
  return false;
}

/** The first line of a cel-js error, lower-cased at the start like cel-go's ("no such key: x"). */
function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const line = msg.split('\n')[0] ?? msg;
  return line.charAt(0).toLowerCase() + line.slice(1);
}

/** CEL programs for every rule in a schema, keyed by node. */
export class CelRules {
  private readonly rules = new Map<SchemaNode, CompiledRule[]>();
  private readonly types: CelTypes;
  readonly compileErrors: FieldError[] = [];

  constructor(root: SchemaNode, isResourceRoot: boolean) {
    this.types = new CelTypes(root, isResourceRoot);
    this.compileAll(root);
  }

  private compileAll(node: SchemaNode): void {
    if (!node.hasRulesBelow) return;
    if (node.rules.length > 0) {
      const selfType = this.types.typeOf(node);
      const env = this.types.env
        .clone()
        .registerVariable('self', selfType)
        .registerVariable('oldSelf', selfType);
      this.rules.set(
        node,
        node.rules.map((rule, index) => this.compileRule(env, node, rule, index)),
      );
    }
    for (const prop of node.properties?.values() ?? []) this.compileAll(prop);
    if (node.items) this.compileAll(node.items);
    if (typeof node.additionalProperties === 'object') this.compileAll(node.additionalProperties);
  }

  private compileRule(
    env: Environment,
    node: SchemaNode,
    rule: ValidationRule,
    index: number,
  ): CompiledRule {
    const at = `${node.schemaPath}.x-kubernetes-validations[${index}]`;
    const compiled: CompiledRule = {
      rule,
      index,
      program: undefined,
      messageProgram: undefined,
      compileError: undefined,
      isTransition: false,
    };
    const fail = (field: string, value: string, msg: string) => {
      compiled.compileError ??= msg;
      this.compileErrors.push(fieldErrors.invalid(`${at}.${field}`, value, msg));
    };
    if (typeof rule.rule !== 'string' || rule.rule.trim() === '') {
      fail('rule', String(rule.rule ?? ''), 'rule must not be empty');
      return compiled;
    }
    try {
      const parsed = env.parse(rule.rule);
      const check = parsed.check();
      if (!check.valid) {
        fail('rule', rule.rule, `compilation failed: ${firstLine(check.error)}`);
      } else if (check.type !== 'bool' && check.type !== 'dyn') {
        fail(
          'rule',
          rule.rule,
          `compilation failed: cel expression must evaluate to a bool, not ${check.type}`,
        );
      } else {
        compiled.program = parsed as unknown as Program;
        compiled.isTransition = usesIdentifier(parsed.ast, 'oldSelf');
      }
    } catch (err) {
      fail('rule', rule.rule, `compilation failed: ${firstLine(err)}`);
    }
    if (rule.messageExpression !== undefined) {
      try {
        const parsed = env.parse(rule.messageExpression);
        const check = parsed.check();
        if (!check.valid)
          fail(
            'messageExpression',
            rule.messageExpression,
            `messageExpression compilation failed: ${firstLine(check.error)}`,
          );
        else if (check.type !== 'string' && check.type !== 'dyn')
          fail(
            'messageExpression',
            rule.messageExpression,
            'messageExpression must evaluate to a string',
          );
        else compiled.messageProgram = parsed as unknown as Program;
      } catch (err) {
        fail(
          'messageExpression',
          rule.messageExpression,
          `messageExpression compilation failed: ${firstLine(err)}`,
        );
      }
    }
    if (rule.fieldPath !== undefined && parseFieldPath(rule.fieldPath) === undefined) {
      fail('fieldPath', rule.fieldPath, 'fieldPath must be a valid path');
    }
    return compiled;
  }

  /** Evaluates every rule over `value` (and `old` on update), appending failures to `errors`. */
  validate(value: unknown, node: SchemaNode, path: string, old: Old, errors: FieldError[]): void {
    if (!node.hasRulesBelow || value === null || value === undefined) return;
    const rules = this.rules.get(node);
    if (rules) this.evaluate(rules, value, node, path, old, errors);
    if (Array.isArray(value) && node.items) {
      const items = node.items;
      value.forEach((item, i) => {
        this.validate(
          item,
          items,
          fieldPath.index(path, i),
          correlateMapListItem(node, item, old),
          errors,
        );
      });
    } else if (isObject(value)) {
      const oldObj = isObject(old) ? old : undefined;
      for (const [key, child] of Object.entries(value)) {
        const prop = node.properties?.get(key);
        const extra =
          typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
        const childOld = oldObj && key in oldObj ? oldObj[key] : NO_OLD;
        if (prop) this.validate(child, prop, fieldPath.child(path, key), childOld, errors);
        else if (extra) this.validate(child, extra, fieldPath.key(path, key), childOld, errors);
      }
    }
  }

  private evaluate(
    rules: CompiledRule[],
    value: unknown,
    node: SchemaNode,
    path: string,
    old: Old,
    errors: FieldError[],
  ) {
    const typeName = node.type ?? 'object';
    const hasOld = old !== NO_OLD && old !== null && old !== undefined;
    const unchanged = hasOld && deepEqual(value, old);
    let self: unknown;
    let oldSelf: unknown;
    for (const c of rules) {
      const { rule } = c;
      if (c.compileError !== undefined) {
        errors.push(fieldErrors.invalid(path, typeName, `rule compile error: ${c.compileError}`));
        continue;
      }
      if (c.isTransition && !hasOld) continue; // transition rules only run on update
      if (!c.isTransition && unchanged) continue; // ratcheting
      self ??= this.types.toCel(value, node);
      if (c.isTransition) oldSelf ??= this.types.toCel(old, node);
      const where = rule.fieldPath ? joinFieldPath(path, rule.fieldPath) : path;
      const detail = rule.message || `failed rule: ${rule.rule.trim()}`;
      let result: unknown;
      try {
        result = (c.program as Program)({ self, oldSelf });
      } catch (err) {
        errors.push(
          fieldErrors.invalid(
            where,
            typeName,
            `${firstLine(err)} evaluating rule: ${rule.message || rule.rule.trim()}`,
          ),
        );
        continue;
      }
      if (result === true) continue;
      let message = detail;
      if (c.messageProgram) {
        try {
          const m = c.messageProgram({ self, oldSelf });
          if (typeof m === 'string' && m.trim() !== '' && !m.includes('\n')) message = m;
        } catch {
          // kube falls back to the static message when messageExpression fails
        }
      }
      errors.push(errorForReason(rule.reason, where, typeName, message));
    }
  }
}

function errorForReason(
  reason: string | undefined,
  field: string,
  value: string,
  detail: string,
): FieldError {
  switch (reason) {
    case 'FieldValueForbidden':
      return fieldErrors.forbidden(field, detail);
    case 'FieldValueRequired':
      return fieldErrors.required(field, detail);
    case 'FieldValueDuplicate':
      return {
        ...fieldErrors.duplicate(field, value),
        message: `Duplicate value: ${JSON.stringify(value)}: ${detail}`,
      };
    default:
      return fieldErrors.invalid(field, value, detail);
  }
}

/** `.a.b`, `.a['b.c']`, `.a[0]` (a rule's fieldPath) as path segments. */
export function parseFieldPath(p: string): string[] | undefined {
  const out: string[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^']*)'\]|\[(\d+)\]/y;
  let i = 0;
  while (i < p.length) {
    re.lastIndex = i;
    const m = re.exec(p);
    if (!m) return undefined;
    out.push(m[1] ?? m[2] ?? `[${m[3]}]`);
    i = re.lastIndex;
  }
  return out.length > 0 ? out : undefined;
}

function joinFieldPath(base: string, rel: string): string {
  let path = base;
  for (const seg of parseFieldPath(rel) ?? []) {
    path = seg.startsWith('[') ? `${path}${seg}` : fieldPath.child(path, seg);
  }
  return path;
}
