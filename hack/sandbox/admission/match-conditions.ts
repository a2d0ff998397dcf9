// Webhook matchConditions: CEL expressions over `object`, `oldObject` and `request`; the
// webhook is skipped when any is false. Errors fail closed unless failurePolicy is Ignore
// (kube's behaviour). The `authorizer` variable is not offered.
import { parse } from '@marcbachmann/cel-js';
import type { MatchCondition } from './types.ts';

type Compiled = ReturnType<typeof parse>;
const compiled = new Map<string, Compiled>();

function compile(expression: string): Compiled {
  let program = compiled.get(expression);
  if (!program) {
    program = parse(expression);
    compiled.set(expression, program);
  }
  return program;
}

export type ConditionsVerdict = { matches: true } | { matches: false; error?: string };

export function evaluateMatchConditions(
  conditions: MatchCondition[] | undefined,
  vars: { object: unknown; oldObject: unknown; request: unknown },
): ConditionsVerdict {
  const failures: string[] = [];
  // cel-js accepts only this realm's plain objects; stored objects are structuredClone'd,
  // which under Jest's vm context makes another realm's. JSON is what kube evaluates anyway.
  const plain = JSON.parse(JSON.stringify(vars)) as Record<string, unknown>;
  for (const condition of conditions ?? []) {
    try {
      const value = compile(condition.expression)(plain);
      if (value === false) return { matches: false };
      if (value !== true) {
        failures.push(`expression '${condition.expression}' resulted in a non-boolean value`);
      }
    } catch (err) {
      failures.push(
        `expression '${condition.expression}' resulted in error: ${(err as Error).message}`,
      );
    }
  }
  if (failures.length > 0) return { matches: false, error: failures.join('; ') };
  return { matches: true };
}
