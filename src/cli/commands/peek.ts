import type { Command } from 'commander';
import { RunnerError } from '../../errors.js';

export function registerPeek(program: Command): void {
  program
    .command('peek')
    .description('(not implemented yet)')
    .action(() => {
      throw new RunnerError('peek is not implemented yet', 'not_implemented');
    });
}
