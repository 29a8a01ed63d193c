#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT } from '../exit-codes.js';
import { RunnerError } from '../errors.js';
import { registerInit } from './commands/init.js';
import { registerRound } from './commands/round.js';
import { registerServe } from './commands/serve.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerInstall } from './commands/install.js';
import { registerPeek } from './commands/peek.js';
import { registerWatch } from './commands/watch.js';
import { registerEvents } from './commands/events.js';
import { registerMonitor } from './commands/monitor.js';
import { registerProbe } from './commands/probe.js';
import { err } from './output.js';
import { packageVersion } from './paths.js';

export function buildProgram(): Command {
  const program = new Command('agent-runner')
    .description('Supervise autonomous CLI coding agents: bounded rounds, a restart loop that halts for good, and a witness that tells the truth.')
    .version(`agent-runner ${packageVersion()}`, '-V, --version')
    .option('-c, --config <path>', 'config file (any name)', 'agent-runner.toml')
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    .exitOverride();
  registerInit(program);
  registerRound(program);
  registerServe(program);
  registerLifecycle(program);
  registerInstall(program);
  registerPeek(program);
  registerWatch(program);
  registerEvents(program);
  registerMonitor(program);
  registerProbe(program);
  // --config/--json after the verb, too.
  for (const sub of program.commands) {
    sub.option('-c, --config <path>', 'config file (any name)').option('--json', 'machine-readable output').exitOverride();
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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

const code = await main(process.argv);
process.exitCode = code;
