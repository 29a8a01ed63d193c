// The CLI proper: commander, the verbs, and the mapping of errors to exit codes. main.ts loads
// it only when the command line needs more than the version.
import { CommanderError } from 'commander';
import { EXIT } from '../exit-codes.js';
import { RunnerError } from '../errors.js';
import { err } from './output.js';
import { buildProgram } from './program.js';

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  if (argv.length <= 2) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (e instanceof RunnerError) {
      err(e.message);
      return e.exitCode;
    }
    process.stderr.write(`agent-runner: internal error (this is a bug): ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.FAILURE;
  }
}
