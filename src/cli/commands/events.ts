import type { Command } from 'commander';
import { RunnerError } from '../../errors.js';

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('(not implemented yet)')
    .action(() => {
      throw new RunnerError('events is not implemented yet', 'not_implemented');
    });
}
