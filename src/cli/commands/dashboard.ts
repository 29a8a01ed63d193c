import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { globals } from '../context.js';
import { err } from '../output.js';

interface DashboardFlags {
  listen: string;
  allowActions?: boolean;
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('a live web page of the projects on this host: overview, rounds, costs, alerts, round logs (read-only unless --allow-actions)')
    .argument('[configs...]', 'more project configs to show, beside the one of --config (or ./agent-runner.toml when it exists)')
    .option('--listen <host:port>', 'address to serve on; any address other than loopback requires the token', '127.0.0.1:8787')
    .option('--allow-actions', 'add stop, start and resume buttons (POST with a CSRF token)')
    .action(async (configs: string[], flags: DashboardFlags, cmd: Command) => {
      const [{ loadConfig }, { ConfigListSource }, { authFor, dashboardUrls }, { createDashboard, startDashboardServer }, { UsageError }, { hostname }] = await Promise.all([
        import('../../config/load.js'),
        import('../../dashboard/local-source.js'),
        import('../../dashboard/open.js'),
        import('../../dashboard/server.js'),
        import('../../errors.js'),
        import('node:os'),
      ]);
      const g = globals(cmd);
      const explicit = cmd.getOptionValueSourceWithGlobals('config') !== 'default' && g.config !== undefined;
      const own = resolve(g.config ?? 'agent-runner.toml');
      const paths = [...(explicit || existsSync(own) ? [own] : []), ...configs.map((c) => resolve(c))];
      const unique = [...new Set(paths)];
      if (unique.length === 0) throw new UsageError('dashboard: no project to show: run it in a project directory, or pass --config PATH or config paths');
      const opened = authFor(flags.listen);
      const warn = (line: string) => err(line);
      const dashboard = createDashboard({ sources: [new ConfigListSource(unique.map((p) => loadConfig(p)))], auth: opened.auth, allowActions: Boolean(flags.allowActions), warn });
      const server = await startDashboardServer(flags.listen, dashboard);
      const urls = dashboardUrls(flags.listen, server.port, opened, hostname());
      err(`dashboard on ${urls.url} (${flags.allowActions ? 'actions allowed' : 'read-only'}); Ctrl-C to stop`);
      if (opened.token) err(`token in ${opened.token.path}${opened.token.created ? ' (made now)' : ''}; log in once at ${urls.login ?? ''}`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
      await server.close();
    });
}
