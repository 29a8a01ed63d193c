import type { Command, OptionValues, OptionValueSource } from 'commander';

/**
 * One option of a verb, declared once in commander's own notation (`-c, --config <path>`,
 * `--no-auto-stop`): commander registers it for parsing and --help, and the fast path
 * (fast.ts) hands the same list to node's util.parseArgs.
 */
export interface OptionSpec {
  flags: string;
  description: string;
  /** The value when the option is absent. */
  default?: string;
  /** Every value is kept, in order (`--host a --host b` → ['a', 'b']). */
  repeat?: boolean;
}

/** --config and --json: before the verb, and after it too. */
export const DEFAULT_CONFIG_FILE = 'agent-runner.toml';
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { flags: '-c, --config <path>', description: 'config file (any name)' },
  { flags: '--json', description: 'machine-readable output' },
];

/** What a verb's action reads from its command: commander's Command, or the fast path's stand-in. */
export type VerbContext = Pick<Command, 'optsWithGlobals' | 'getOptionValueSourceWithGlobals'>;

export function addOptions(cmd: Command, specs: readonly OptionSpec[]): Command {
  for (const o of specs) {
    if (o.repeat) cmd.option(o.flags, o.description, (v: string, prev?: string[]) => [...(prev ?? []), v]);
    else if (o.default !== undefined) cmd.option(o.flags, o.description, o.default);
    else cmd.option(o.flags, o.description);
  }
  return cmd;
}

/** A VerbContext over values already parsed: `explicit` names the options the command line gave. */
export function verbContext(values: OptionValues, explicit: ReadonlySet<string>): VerbContext {
  return {
    optsWithGlobals: <T extends OptionValues>() => ({ ...values }) as T,
    getOptionValueSourceWithGlobals: (key: string): OptionValueSource | undefined =>
      explicit.has(key) ? 'cli' : values[key] !== undefined ? 'default' : undefined,
  };
}

/** Where the verb stands in argv, skipping the global options that may stand before it; -1 if none. */
export function verbIndex(argv: readonly string[]): number {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config') i++;
    else if (!a.startsWith('-')) return i;
  }
  return -1;
}

/** The verb in argv, skipping the global options that may stand before it. */
export function verbOf(argv: readonly string[]): string | undefined {
  const i = verbIndex(argv);
  return i < 0 ? undefined : argv[i];
}
