// The subset of JSONPath that CRD additionalPrinterColumns use: `.a.b`, `[0]`, `[*]`,
// `['key']` and `[?(@.type=="Ready")]`. Returns every match.

type Step =
  | { field: string }
  | { index: number }
  | { all: true }
  | { filter: string[]; op: '==' | '!='; value: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => Step][] = [
  [/^\.([A-Za-z0-9_$-]+)/, (m) => ({ field: m[1] ?? '' })],
  [/^\[(\d+)\]/, (m) => ({ index: Number(m[1]) })],
  [/^\[\*\]/, () => ({ all: true })],
  [/^\['([^']*)'\]/, (m) => ({ field: m[1] ?? '' })],
  [
    /^\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*["']([^"']*)["']\)\]/,
    (m) => ({
      filter: (m[1] ?? '').slice(1).split('.'),
      op: m[2] as '==' | '!=',
      value: m[3] ?? '',
    }),
  ],
];

function parse(path: string): Step[] {
  const steps: Step[] = [];
  let rest = path.trim().replace(/^\{|\}$/g, '');
  outer: while (rest) {
    for (const [re, make] of PATTERNS) {
      const m = re.exec(rest);
      if (m) {
        steps.push(make(m));
        rest = rest.slice(m[0].length);
        continue outer;
      }
    }
    return [];
  }
  return steps;
}

function walk(value: unknown, path: string[]): unknown {
  let v = value;
  for (const p of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

export function evaluateJSONPath(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if ('field' in step) {
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && step.field in v) {
          next.push((v as Record<string, unknown>)[step.field]);
        }
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(v)) next.push(...v);
        else if (typeof v === 'object' && v !== null) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const matches = String(walk(item, step.filter)) === step.value;
          if (matches === (step.op === '==')) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}
