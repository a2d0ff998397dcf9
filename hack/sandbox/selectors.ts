// Label and field selectors with kube's syntax and matching rules. Parsing errors are
// StatusErrors (400) so a bad selector never reaches the store.
import { errors } from './errors.ts';

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: '=' | '!=' | 'gt' | 'lt'; values: string[] };

export type LabelSelector = LabelRequirement[];

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Splits on commas that are not inside a parenthesised value set. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function bad(selector: string, why: string): never {
  throw errors.badRequest(`unable to parse requirement: ${why} (selector "${selector}")`);
}

function checkKey(selector: string, key: string): string {
  if (!KEY.test(key) || key.length > 316) bad(selector, `invalid label key "${key}"`);
  return key;
}

function checkValue(selector: string, value: string): string {
  if (!VALUE.test(value) || value.length > 63) bad(selector, `invalid label value: "${value}"`);
  return value;
}

export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (!text) return [];
  return splitTerms(text).map((term): LabelRequirement => {
    let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => checkValue(text, v.trim()));
      return { key: checkKey(text, m[1] ?? ''), op: m[2] as 'in' | 'notin', values };
    }
    if (term.startsWith('!')) return { key: checkKey(text, term.slice(1).trim()), op: '!' };
    m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(\S*)$/.exec(term);
    if (m) {
      const op = m[2] === '!=' ? '!=' : m[2] === '<' ? 'lt' : m[2] === '>' ? 'gt' : '=';
      const value = m[3] ?? '';
      if ((op === 'lt' || op === 'gt') && !/^-?\d+$/.test(value)) {
        bad(text, `for 'Gt', 'Lt' operators, the value must be an integer`);
      }
      return { key: checkKey(text, m[1] ?? ''), op, values: [checkValue(text, value)] };
    }
    if (/^\S+$/.test(term)) return { key: checkKey(text, term), op: 'exists' };
    return bad(text, `found '${term}', expected: key, !key, key=value, key in (values)`);
  });
}

export function matchesLabels(
  selector: LabelSelector,
  labels: Record<string, string> | undefined,
): boolean {
  for (const r of selector) {
    const value = labels?.[r.key];
    switch (r.op) {
      case 'exists':
        if (value === undefined) return false;
        break;
      case '!':
        if (value !== undefined) return false;
        break;
      case '=':
      case 'in':
        if (value === undefined || !r.values.includes(value)) return false;
        break;
      case '!=':
      case 'notin':
        if (value !== undefined && r.values.includes(value)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?\d+$/.test(value)) return false;
        const n = Number(value);
        const bound = Number(r.values[0]);
        if (r.op === 'gt' ? !(n > bound) : !(n < bound)) return false;
      }
    }
  }
  return true;
}

/** A metav1.LabelSelector object ({matchLabels, matchExpressions}) as requirements. */
export function labelSelectorFromObject(obj: unknown): LabelSelector {
  const sel = (obj ?? {}) as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const reqs: LabelSelector = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) {
    reqs.push({ key, op: '=', values: [value] });
  }
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') reqs.push({ key: e.key, op: 'exists' });
    else if (op === 'doesnotexist') reqs.push({ key: e.key, op: '!' });
  }
  return reqs;
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `a=b,c!=d`; `supported` lists the fields this resource can be selected by. */
export function parseFieldSelector(
  text: string | undefined,
  supported: readonly string[],
): FieldRequirement[] {
  if (!text) return [];
  return splitTerms(text).map((term): FieldRequirement => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw errors.badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = m[1] ?? '';
    if (!supported.includes(field)) throw errors.badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3] ?? '' };
  });
}

export function matchesFields(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  for (const r of reqs) {
    const value = fields[r.field] ?? '';
    if (r.op === '=' ? value !== r.value : value === r.value) return false;
  }
  return true;
}
