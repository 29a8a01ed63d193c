import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { globals } from '../context.js';
import { addOptions, type OptionSpec, type VerbContext } from '../options.js';
import { packageVersion } from '../paths.js';

interface MonitorFlags {
  host?: string[];
  project?: string;
  interval?: string;
  once?: boolean;
  mode: string;
  sshConfig?: string;
  remoteCmd?: string;
  remoteConfig?: string;
  transport: string;
  stateFile?: string;
  autoStop: boolean;
  listen?: string;
}

export const MONITOR_OPTIONS: readonly OptionSpec[] = [
  { flags: '--host <alias>', description: 'watch this ssh host (an alias of your ~/.ssh/config, or user@host): every project registered there, unless --remote-config names one; repeat for several hosts', repeat: true },
  { flags: '--project <name>', description: 'with --host: only the registered project of this name' },
  { flags: '--interval <s>', description: 'seconds between polls; a change under log_dir is evaluated at once, without waiting for the next (default: monitor.interval_s, else 30 locally and 60 over ssh)' },
  { flags: '--once', description: 'poll once, print the state (with --json: one JSON object per project), exit: 0 healthy, 1 warning or halted, 2 critical, 3 unknown (host unreachable); with --mode narrate/events: the last 10 events' },
  { flags: '--mode <mode>', description: 'anomaly (alerts), narrate (a line per event) or events (raw JSON lines)', default: 'anomaly' },
  { flags: '--ssh-config <file>', description: 'ssh client config file, as `ssh -F` (default: $AGENT_RUNNER_SSH_CONFIG, else ssh\'s own)' },
  { flags: '--remote-cmd <cmd>', description: 'the agent-runner program on the remote host (default: $AGENT_RUNNER_REMOTE_CMD, else "agent-runner")' },
  { flags: '--remote-config <path>', description: 'the project config on the remote host (default: $AGENT_RUNNER_REMOTE_CONFIG, else every project `agent-runner ls` lists there)' },
  { flags: '--transport <t>', description: 'stream: one long-lived remote probe per connection, which also pushes changes; exec: one remote command per poll', default: 'stream' },
  { flags: '--state-file <path>', description: 'where firing alerts and read positions are kept (default: under ~/.local/state/agent-runner/monitor/, or remote/ for --host; never in the project)' },
  { flags: '--no-auto-stop', description: 'never stop the service, whatever auto_stop_on says' },
  { flags: '--listen <host:port>', description: 'serve /metrics (OpenMetrics or Prometheus text), /healthz and the read-only dashboard on this address, e.g. 127.0.0.1:9464, for every project watched (with --host: every host × project)' },
];

export function registerMonitor(program: Command): void {
  addOptions(
    program
      .command('monitor')
      .description('watch a project (here, or on --host over ssh; with no config and no host, every project of this host\'s registry): alerts that fire once, resolve, and stop the service on auto_stop_on detectors'),
    MONITOR_OPTIONS,
  ).action(runMonitor);
}

export async function runMonitor(flags: MonitorFlags, cmd: VerbContext): Promise<void> {
  const { runMonitorCommand } = await import('../../monitor/command.js');
  const g = globals(cmd);
  const explicitConfig = cmd.getOptionValueSourceWithGlobals('config') !== 'default' && g.config !== undefined;
  process.exitCode = await runMonitorCommand({
    ...flags,
    json: Boolean(g.json),
    configPath: g.config ?? 'agent-runner.toml',
    configExplicit: explicitConfig,
    configExists: existsSync(g.config ?? 'agent-runner.toml'),
    version: packageVersion(),
  });
}
