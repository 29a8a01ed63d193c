import { EXIT } from '../exit-codes.js';
import { RunnerError } from '../errors.js';
import { err } from './output.js';

/** The exit code for what a verb threw: a RunnerError's own, after its one line; anything else is a bug. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof RunnerError) {
    err(e.message);
    return e.exitCode;
  }
  process.stderr.write(`agent-runner: internal error (this is a bug): ${(e as Error)?.stack ?? String(e)}\n`);
  return EXIT.FAILURE;
}

/** The exit code once a verb's action has returned. */
export const exitCodeAfter = (): number => (typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK);
