import type { Command } from 'commander';
import { resolve } from 'node:path';
import { localProjectMetrics } from '../../metrics/collect.js';
import { renderExposition } from '../../metrics/exposition.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { loadFor } from '../context.js';

export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description('print the project\'s metrics once, in the Prometheus text format (what monitor --listen serves), e.g. for node_exporter\'s textfile collector')
    .option('--openmetrics', 'OpenMetrics 1.0 instead of the Prometheus text format')
    .option('--output <file>', 'write to this file atomically (a collector never reads half a file) instead of stdout')
    .action(async (opts: { openmetrics?: boolean; output?: string }, cmd: Command) => {
      const cfg = loadFor(cmd);
      const text = renderExposition([await localProjectMetrics(cfg)], opts.openmetrics ? 'openmetrics' : 'prometheus');
      if (opts.output) writeFileAtomic(resolve(opts.output), text, 0o644);
      else process.stdout.write(text);
    });
}
