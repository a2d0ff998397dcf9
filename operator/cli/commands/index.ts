import type { Command } from '../io.ts';
import { validateCommand } from './validate.ts';

// Every `trustgate` command, in the order `trustgate --help` lists them.
export const COMMANDS: Command[] = [validateCommand];
