// Kubernetes label selectors (matchLabels + matchExpressions), shared by node pools,
// workload selectors and exemptions. An absent or empty selector selects everything.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | string;
    values?: string[];
  }>;
}

export type Labels = Readonly<Record<string, string>> | undefined;

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** True when the labels satisfy every term of the selector; an unknown operator never matches. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  const have = labels ?? NO_LABELS;
  // for-in over own keys, not Object.entries: admission matches every policy's selectors
  // on every review, and the entry arrays were most of that cost.
  const wanted = selector.matchLabels;
  for (const key in wanted) {
    if (!Object.hasOwn(wanted, key)) continue;
    if (!Object.hasOwn(have, key) || have[key] !== wanted[key]) return false;
  }
  const expressions = selector.matchExpressions;
  if (!expressions) return true;
  for (const expr of expressions) {
    const present = Object.hasOwn(have, expr.key);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!present || !values.includes(have[expr.key] as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(have[expr.key] as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
