import type { Command } from 'commander';
import { resolve } from 'node:path';
import { globals } from '../context.js';
import { addOptions, type OptionSpec, type VerbContext } from '../options.js';

interface ProbeFlags {
  since?: string;
  stdio?: boolean;
}

export const PROBE_OPTIONS: readonly OptionSpec[] = [
  { flags: '--since <cursor>', description: 'the cursor of the previous probe: only events appended after it are read' },
  { flags: '--stdio', description: 'serve probes on stdin/stdout: one request line ({"since": CURSOR or null}) → one JSON line, until stdin closes; with "watch", changes are pushed unasked (docs/witness.md)' },
];

export function registerProbe(program: Command): void {
  addOptions(
    program
      .command('probe')
      .description('evaluate the detectors here with this host\'s config: one versioned JSON snapshot plus a cursor (what `monitor --host` runs on the remote)'),
    PROBE_OPTIONS,
  ).action(runProbe);
}

export async function runProbe(flags: ProbeFlags, cmd: VerbContext): Promise<void> {
  const [{ expandHome }, { parseCursor }, { UsageError }] = await Promise.all([
    import('../../config/load.js'),
    import('../../events/reader.js'),
    import('../../errors.js'),
  ]);
  // The remote side receives the path verbatim (quoted against its shell), so `~/` is ours to expand.
  const configPath = resolve(expandHome(globals(cmd).config ?? 'agent-runner.toml'));
  if (flags.since !== undefined && !parseCursor(flags.since)) throw new UsageError(`--since expects a cursor printed by a previous probe (v1:…), got "${flags.since}"`);
  const { probeOnce, probeStdio } = await import('../../monitor/probe-cli.js');
  if (flags.stdio) return probeStdio(configPath);
  const result = await probeOnce(configPath, flags.since);
  if (globals(cmd).json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const { probeSummary } = await import('../../monitor/probe-cli.js');
    process.stdout.write(probeSummary(result).join('\n') + '\n');
  }
}
