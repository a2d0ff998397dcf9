// Webhook namespaceSelector/objectSelector: a metav1.LabelSelector checked strictly (kube
// refuses unknown operators and bad value sets) and then matched with the sandbox's shared
// label matcher. An absent or empty selector matches everything.
import { labelSelectorFromObject, matchesLabels } from '../selectors.ts';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/** A selector kube would refuse to parse (unknown operator, bad values). */
export class SelectorError extends Error {}

function checkRequirement(req: LabelSelectorRequirement): void {
  const count = (req.values ?? []).length;
  switch (req.operator) {
    case 'In':
    case 'NotIn':
      if (count === 0) {
        throw new SelectorError(
          `values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`,
        );
      }
      return;
    case 'Exists':
    case 'DoesNotExist':
      if (count > 0) {
        throw new SelectorError(
          `values: Invalid value: ${JSON.stringify(req.values)}: values set must be empty for exists and does not exist`,
        );
      }
      return;
    default:
      throw new SelectorError(`"${req.operator}" is not a valid label selector operator`);
  }
}

/** Compiles a LabelSelector; throws SelectorError for one kube would not accept. */
export function compileLabelSelector(selector: LabelSelector | undefined | null): LabelMatcher {
  for (const req of selector?.matchExpressions ?? []) checkRequirement(req);
  const requirements = labelSelectorFromObject(selector ?? {});
  return (labels) => matchesLabels(requirements, labels);
}

/** True when the selector selects everything (kube's `selector.Empty()`). */
export function isEmptySelector(selector: LabelSelector | undefined | null): boolean {
  return (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0)
  );
}
