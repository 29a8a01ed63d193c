import type { Command } from 'commander';
import { RunnerError } from '../../errors.js';

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('(not implemented yet)')
    .action(() => {
      throw new RunnerError('watch is not implemented yet', 'not_implemented');
    });
}
