import type { Command } from '../io.ts';
import { attestSignCommand } from './attest.ts';
import { evaluateCommand } from './evaluate.ts';
import { keysGenerateCommand } from './keys.ts';
import { runCommand } from './run.ts';
import { sandboxCommand } from './sandbox.ts';
import { validateCommand } from './validate.ts';

// Every `trustgate` command, in the order `trustgate --help` lists them.
export const COMMANDS: Command[] = [
  keysGenerateCommand,
  attestSignCommand,
  evaluateCommand,
  validateCommand,
  sandboxCommand,
  runCommand,
];
