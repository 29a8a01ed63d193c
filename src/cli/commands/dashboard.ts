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
    .description('a live web page of the projects on this host (its registry, as `ls` lists them): overview, rounds, costs, alerts, round logs; read-only unless --allow-actions')
    .argument('[configs...]', 'project configs to show besides the registry\'s (and the one of --config, or ./agent-runner.toml when it exists)')
    .option('--listen <host:port>', 'address to serve on; any address other than loopback requires the token', '127.0.0.1:8787')
    .option('--allow-actions', 'add stop, start and resume buttons (POST with a CSRF token)')
    .action(async (configs: string[], flags: DashboardFlags, cmd: Command) => {
      const [{ loadConfig }, { ConfigListSource }, { RegistrySource }, { authFor, dashboardUrls }, { createDashboard, startDashboardServer }, { hostname }] = await Promise.all([
        import('../../config/load.js'),
        import('../../dashboard/local-source.js'),
        import('../../dashboard/registry-source.js'),
        import('../../dashboard/open.js'),
        import('../../dashboard/server.js'),
        import('node:os'),
      ]);
      const g = globals(cmd);
      const explicit = cmd.getOptionValueSourceWithGlobals('config') !== 'default' && g.config !== undefined;
      const own = resolve(g.config ?? 'agent-runner.toml');
      const paths = [...new Set([...(explicit || existsSync(own) ? [own] : []), ...configs.map((c) => resolve(c))])];
      const opened = authFor(flags.listen);
      const warn = (line: string) => err(line);
      // The projects named here first, then every project this host's registry knows (`agent-runner ls`).
      const sources = [new ConfigListSource(paths.map((p) => loadConfig(p))), new RegistrySource(warn)];
      const dashboard = createDashboard({ sources, auth: opened.auth, allowActions: Boolean(flags.allowActions), warn });
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
