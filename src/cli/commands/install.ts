import type { Command } from 'commander';
import { install, uninstall } from '../../service/install.js';
import { globals, loadFor } from '../context.js';
import { err, json, out } from '../output.js';
import { CLI_ENTRY, PACKAGE_DIR } from '../paths.js';
import { noteProject } from '../record-project.js';

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description('write systemd units for serve (and, with --monitor, the monitor), then daemon-reload, enable and start them')
    .option('--monitor', 'also install the monitor unit')
    .option('--system', 'system units in /etc/systemd/system with User= (needs root)')
    .option('--dry-run', 'print the units, change nothing')
    .option('--linger', 'enable lingering for the user (user units survive logout)')
    .option('--env-file <path>', 'EnvironmentFile= for secrets (default ~/.config/agent-runner/<project>.env)')
    .option('--memory-max <size>', 'MemoryMax= for the serve unit (e.g. 4G)')
    .action(async (opts: { monitor?: boolean; system?: boolean; dryRun?: boolean; linger?: boolean; envFile?: string; memoryMax?: string }, cmd: Command) => {
      const cfg = loadFor(cmd);
      // --dry-run promises to change nothing.
      if (!opts.dryRun) noteProject(cfg, 'install');
      const r = await install(cfg, {
        monitor: Boolean(opts.monitor),
        system: Boolean(opts.system),
        dryRun: Boolean(opts.dryRun),
        linger: Boolean(opts.linger),
        ...(opts.envFile ? { envFile: opts.envFile } : {}),
        ...(opts.memoryMax ? { memoryMax: opts.memoryMax } : {}),
        packageDir: PACKAGE_DIR,
        cliEntry: CLI_ENTRY,
      });
      if (globals(cmd).json) return json(r);
      if (opts.dryRun) {
        for (const u of r.units) out(`# ${u.path}\n${u.text}`);
        for (const w of r.warnings) err(`warning: ${w}`);
        return;
      }
      for (const u of r.units) out(`installed and started ${u.name} (${u.path})`);
      for (const w of r.warnings) err(`warning: ${w}`);
    });

  program
    .command('uninstall')
    .description('stop, disable and remove the units, then daemon-reload (idempotent)')
    .option('--system', 'the system units (needs root)')
    .action(async (opts: { system?: boolean }, cmd: Command) => {
      const r = await uninstall(loadFor(cmd), { system: Boolean(opts.system) });
      if (globals(cmd).json) return json(r);
      out(r.removed.length ? r.removed.map((p) => `removed ${p}`).join('\n') : 'nothing to remove: no unit is installed');
    });
}
