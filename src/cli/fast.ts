// The read-only verbs asked most often (by `monitor --host`, watch refreshes, scripts and service
// checks) run without commander when their command line holds only options they declare: node's
// util.parseArgs reads it from the same option list commander registers (options.ts), and
// commander, about a fifth of such a call's start-up, is never loaded. Anything else — --help, a
// typo, a positional, a value that looks like an option — goes to commander (run.ts), which gives
// the one documented answer.
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG_FILE, GLOBAL_OPTIONS, verbContext, verbIndex, type OptionSpec, type VerbContext } from './options.js';
import { exitCodeAfter, exitCodeOf } from './outcome.js';

interface FastVerb {
  options: readonly OptionSpec[];
  run(flags: Record<string, unknown>, cmd: VerbContext): Promise<void>;
}

const FAST: Record<string, () => Promise<FastVerb>> = {
  peek: async () => {
    const m = await import('./commands/peek.js');
    return { options: m.PEEK_OPTIONS, run: m.runPeek };
  },
  status: async () => {
    const m = await import('./commands/lifecycle.js');
    return { options: [], run: m.runStatus };
  },
  ls: async () => {
    const m = await import('./commands/ls.js');
    return { options: m.LS_OPTIONS, run: m.runLs };
  },
  monitor: async () => {
    const m = await import('./commands/monitor.js');
    return { options: m.MONITOR_OPTIONS, run: (flags, cmd) => m.runMonitor(flags as unknown as Parameters<typeof m.runMonitor>[0], cmd) };
  },
  probe: async () => {
    const m = await import('./commands/probe.js');
    return { options: m.PROBE_OPTIONS, run: m.runProbe };
  },
};

/** One option as util.parseArgs takes it, and the key commander would store its value under. */
interface Parsed {
  long: string;
  key: string;
  negated: boolean;
  spec: OptionSpec;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function describe(specs: readonly OptionSpec[]): Parsed[] | undefined {
  const out: Parsed[] = [];
  for (const spec of specs) {
    const m = /^(?:-([a-zA-Z]), )?--([a-z][a-z-]*)(?: <[^>]+>)?$/.exec(spec.flags);
    if (!m) return undefined;
    const long = m[2]!;
    const negated = long.startsWith('no-') && !spec.flags.includes('<');
    out.push({ long, key: camel(negated ? long.slice(3) : long), negated, spec });
  }
  return out;
}

function configOf(parsed: Parsed[]): Parameters<typeof parseArgs>[0] {
  const options: NonNullable<Parameters<typeof parseArgs>[0]>['options'] = {};
  for (const p of parsed) {
    const short = /^-([a-zA-Z]), /.exec(p.spec.flags)?.[1];
    options[p.long] = { type: p.spec.flags.includes('<') ? 'string' : 'boolean', ...(short ? { short } : {}), ...(p.spec.repeat ? { multiple: true } : {}) };
  }
  return { options, strict: true, allowPositionals: false };
}

/** The values commander would give for args, or undefined when commander must read them. */
function parse(parsed: Parsed[], args: string[]): { values: Record<string, unknown>; given: Set<string> } | undefined {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ ...configOf(parsed), args }).values as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const p of parsed) {
    const v = values[p.long];
    if (v !== undefined) given.add(p.key);
    if (p.negated) out[p.key] = v === undefined;
    else if (v !== undefined) out[p.key] = v;
    else if (p.spec.default !== undefined) out[p.key] = p.spec.default;
  }
  return { values: out, given };
}

/**
 * What commander would hand a verb's action for argv: its flags, and the options with the global
 * ones merged in (`given`: those the command line set). Undefined when commander must read argv.
 */
export function readCommandLine(argv: readonly string[], at: number, options: readonly OptionSpec[]): { flags: Record<string, unknown>; options: Record<string, unknown>; given: Set<string> } | undefined {
  const globals = describe(GLOBAL_OPTIONS);
  const own = describe(options);
  if (!globals || !own) return undefined;
  // Before the verb only the global options may stand; after it, the verb's too.
  const before = parse(globals, argv.slice(2, at));
  const after = parse([...globals, ...own], argv.slice(at + 1));
  if (!before || !after) return undefined;
  // As commander: the global options stay the program's wherever they stand.
  const flags: Record<string, unknown> = { ...after.values };
  for (const p of globals) delete flags[p.key];
  return { flags, options: { config: DEFAULT_CONFIG_FILE, ...before.values, ...after.values }, given: new Set([...before.given, ...after.given]) };
}

/** The exit code, once the verb has run; undefined when commander must take this command line. */
export async function fastMain(argv: string[]): Promise<number | undefined> {
  const at = verbIndex(argv);
  const load = at < 0 ? undefined : FAST[argv[at]!];
  if (!load) return undefined;
  const verb = await load();
  const read = readCommandLine(argv, at, verb.options);
  if (!read) return undefined;
  try {
    await verb.run(read.flags, verbContext(read.options, read.given));
    return exitCodeAfter();
  } catch (e) {
    return exitCodeOf(e);
  }
}
