// The CLI proper: commander, the verbs, and the mapping of errors to exit codes. main.ts loads
// it only when the command line needs more than the version, or more than the fast path reads.
import { CommanderError } from 'commander';
import { EXIT } from '../exit-codes.js';
import { exitCodeAfter, exitCodeOf } from './outcome.js';
import { buildProgram } from './program.js';

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  if (argv.length <= 2) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv);
    return exitCodeAfter();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    return exitCodeOf(e);
  }
}
