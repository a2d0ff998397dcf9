// How the demo talks to a person: numbered steps, what was done, what was seen.
export interface Narrator {
  step(title: string): void;
  say(text: string): void;
  show(command: string, output: string): void;
  ok(text: string): void;
}

export function consoleNarrator(write: (s: string) => void = (s) => process.stdout.write(s)) {
  let n = 0;
  const indent = (text: string) =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => `      ${line}`)
      .join('\n');
  return {
    step(title: string) {
      n += 1;
      write(`\n\x1b[1m${n}. ${title}\x1b[0m\n`);
    },
    say(text: string) {
      write(`   ${text}\n`);
    },
    show(command: string, output: string) {
      write(`   $ ${command}\n${output.trim() ? `${indent(output)}\n` : ''}`);
    },
    ok(text: string) {
      write(`   \x1b[32m✓\x1b[0m ${text}\n`);
    },
  } satisfies Narrator;
}

/** A step that did not behave as the story says: the demo exits non-zero. */
export class DemoFailure extends Error {
  override name = 'DemoFailure';
}

export function expect(condition: unknown, failure: string): asserts condition {
  if (!condition) throw new DemoFailure(failure);
}
