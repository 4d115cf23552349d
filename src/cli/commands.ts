import { checkCommand } from './check-command.js';
import type { Command } from './command.js';
import { importCommand } from './import-command.js';
import { describeCommand, exportCommand, getCommand, lsCommand, statsCommand } from './read-commands.js';
import { watchCommand } from './watch-command.js';
import { defineCommand, dropCommand, replaceCommand } from './write-commands.js';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  lsCommand,
  getCommand,
  defineCommand,
  replaceCommand,
  dropCommand,
  describeCommand,
  exportCommand,
  importCommand,
  statsCommand,
  checkCommand,
  watchCommand,
];

export function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((command) => command.name === name);
}
