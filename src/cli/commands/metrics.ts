import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { localProjectMetrics, registryMetrics } from '../../metrics/collect.js';
import { renderExposition } from '../../metrics/exposition.js';
import { UsageError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { configPath, globals, loadFor } from '../context.js';
import { err } from '../output.js';

export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('print the metrics once, in the Prometheus text format (what monitor --listen serves), e.g. for node_exporter\'s textfile collector: the project of --config, else every project of this host\'s registry (`ls`) and ./agent-runner.toml')
    .option('--openmetrics', 'OpenMetrics 1.0 instead of the Prometheus text format')
    .option('--output <file>', 'write to this file atomically (a collector never reads half a file) instead of stdout')
    .action(async (opts: { openmetrics?: boolean; output?: string }, cmd: Command) => {
      const explicit = cmd.getOptionValueSourceWithGlobals('config') !== 'default' && globals(cmd).config !== undefined;
      const own = configPath(cmd);
      const projects = explicit ? [await localProjectMetrics(loadFor(cmd))] : await registryMetrics(existsSync(own) ? [own] : [], (line) => err(line));
      if (projects.length === 0) throw new UsageError('no agent-runner.toml here and no project registered on this host (`agent-runner ls` lists none); give --config');
      const text = renderExposition(projects, opts.openmetrics ? 'openmetrics' : 'prometheus');
      if (opts.output) writeFileAtomic(resolve(opts.output), text, 0o644);
      else process.stdout.write(text);
    });
}
