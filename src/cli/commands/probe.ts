import type { Command } from 'commander';
import { RunnerError } from '../../errors.js';

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .description('(not implemented yet)')
    .action(() => {
      throw new RunnerError('probe is not implemented yet', 'not_implemented');
    });
}
