import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { LS_OPTIONS } from '../../src/cli/commands/ls.js';
import { MONITOR_OPTIONS } from '../../src/cli/commands/monitor.js';
import { PEEK_OPTIONS } from '../../src/cli/commands/peek.js';
import { PROBE_OPTIONS } from '../../src/cli/commands/probe.js';
import { readCommandLine } from '../../src/cli/fast.js';
import { verbContext, verbIndex, type OptionSpec } from '../../src/cli/options.js';
import { buildProgram } from '../../src/cli/program.js';

const OPTIONS: Record<string, readonly OptionSpec[]> = { peek: PEEK_OPTIONS, status: [], ls: LS_OPTIONS, monitor: MONITOR_OPTIONS, probe: PROBE_OPTIONS };

/** What commander hands the verb's action for argv (the action replaced by a recorder). */
async function viaCommander(args: string[]) {
  const argv = ['node', 'agent-runner', ...args];
  const program = await buildProgram(argv);
  const verb = argv[verbIndex(argv)]!;
  let seen: unknown;
  program.commands.find((c) => c.name() === verb)!.action((flags: Record<string, unknown>, cmd: Command) => {
    seen = { flags, options: cmd.optsWithGlobals(), source: cmd.getOptionValueSourceWithGlobals('config') };
  });
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  try {
    await program.parseAsync(argv);
  } catch {
    return undefined;
  }
  return seen;
}

function viaFastPath(args: string[]) {
  const argv = ['node', 'agent-runner', ...args];
  const at = verbIndex(argv);
  const read = readCommandLine(argv, at, OPTIONS[argv[at]!]!);
  if (!read) return undefined;
  const ctx = verbContext(read.options, read.given);
  return { flags: read.flags, options: ctx.optsWithGlobals(), source: ctx.getOptionValueSourceWithGlobals('config') };
}

describe('the fast path reads a command line as commander does', () => {
  const same = [
    ['peek', '--json'],
    ['peek'],
    ['--json', 'peek', '--select', 'status.round_num', '--round=latest', '--log', '--events', '5'],
    ['-c', 'x.toml', 'peek', '--json'],
    ['peek', '--config', 'y.toml'],
    ['peek', '-cz.toml', '--json'],
    ['--config=a.toml', 'peek', '--config', 'b.toml'],
    ['status', '--json', '--config', 'c.toml'],
    ['status'],
    ['ls', '--json'],
    ['ls', '--prune'],
    ['monitor', '--once', '--json', '--no-auto-stop', '--config', 'c.toml'],
    ['monitor', '--host', 'a', '--host', 'b', '--mode', 'narrate', '--transport', 'exec', '--interval', '5'],
    ['monitor', '--once'],
    ['probe', '--json', '--since', 'v1:abc'],
    ['probe', '--stdio', '-c', '~/p/agent-runner.toml'],
  ];
  for (const args of same) {
    it(args.join(' '), async () => {
      const fast = viaFastPath(args);
      expect(fast).toBeDefined();
      expect(fast).toEqual(await viaCommander(args));
    });
  }

  // Commander's answer (help, a usage error) is the documented one: these never take the fast path.
  const commanderOnly = [
    ['peek', '--help'],
    ['peek', '-h'],
    ['peek', '--bogus'],
    ['peek', 'extra'],
    ['peek', '--json=yes'],
    ['peek', '--select'],
    ['peek', '--select', '--json'],
    ['--once', 'monitor'],
    ['status', '--', 'x'],
    ['ls', '--version'],
  ];
  for (const args of commanderOnly) {
    it(`leaves ${args.join(' ')} to commander`, () => {
      expect(viaFastPath(args)).toBeUndefined();
    });
  }
});
