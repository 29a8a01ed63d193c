import type { Command } from 'commander';
import { RunnerError } from '../../errors.js';

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('(not implemented yet)')
    .action(() => {
      throw new RunnerError('monitor is not implemented yet', 'not_implemented');
    });
}
