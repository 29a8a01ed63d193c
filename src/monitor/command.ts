import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { styleText } from 'node:util';
import { expandHome, loadConfig, type Config } from '../config/load.js';
import { UsageError } from '../errors.js';
import { EXIT, FOREIGN_EXIT } from '../exit-codes.js';
import { cursorAtEnd, followLines, eventLinesBackward } from '../events/reader.js';
import { eventsFor } from '../events/open.js';
import { EventWriter } from '../events/writer.js';
import { webhookUrlProblem } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { alertNotification, digestNotification } from '../notify/messages.js';
import { Notifier, originOf } from '../notify/notifier.js';
import { heartbeatBase } from '../notify/secrets.js';
import { collectDigest, digestDueDate } from './daily-digest.js';
import { heartbeatUrl, ping } from './heartbeat.js';
import { LocalTotals } from '../metrics/collect.js';
import type { ProjectMetrics } from '../metrics/exposition.js';
import type { ProbeResult } from './probe.js';
import { startMetricsServer, type MetricsServer } from './listen.js';
import type { Dashboard } from '../dashboard/server.js';
import { stateFiles } from '../state/files.js';
import { splitRemoteCmd, validateHost } from '../ssh/args.js';
import { SshSession } from '../ssh/session.js';
import type { AlertRecord, AlertSet } from './alerts.js';
import { positiveSeconds } from './cli-args.js';
import { alertLine, narrateLine, type Painter } from './render.js';
import { runMonitor } from './run.js';
import { LocalSource, RemoteSource, type PollSource } from './sources.js';
import { adoptLegacyState, historyFromState, localMonitorDir, monitorFiles, readMonitorState, remoteStateDir } from './state-file.js';

export interface MonitorCommandOptions {
  host?: string | undefined;
  interval?: string | undefined;
  once?: boolean | undefined;
  mode: string;
  sshConfig?: string | undefined;
  remoteCmd?: string | undefined;
  remoteConfig?: string | undefined;
  transport: string;
  stateFile?: string | undefined;
  autoStop: boolean;
  json: boolean;
  configPath: string;
  configExplicit: boolean;
  configExists: boolean;
  /** agent-runner's version, for the User-Agent of webhooks and pings. */
  version: string;
  /** HOST:PORT to serve /metrics and /healthz on. */
  listen?: string | undefined;
}

const MODES = ['anomaly', 'narrate', 'events'] as const;

export async function runMonitorCommand(o: MonitorCommandOptions): Promise<number> {
  if (!MODES.includes(o.mode as (typeof MODES)[number])) throw new UsageError(`--mode expects one of ${MODES.join(', ')}, got "${o.mode}"`);
  if (o.transport !== 'stream' && o.transport !== 'exec') throw new UsageError(`--transport expects stream or exec, got "${o.transport}"`);
  let host = o.host !== undefined ? validateHost(o.host) : undefined;
  const intervalFlag = o.interval !== undefined ? positiveSeconds('--interval', o.interval) : undefined;

  // Locally the project's config is the subject; with --host it only supplies [monitor] settings
  // (the remote evaluates with its own config), so it may be absent unless named explicitly.
  const cfg: Config | undefined = !host || o.configExplicit || o.configExists ? loadConfig(resolve(o.configPath)) : undefined;
  if (!host && cfg?.monitor.host) host = validateHost(cfg.monitor.host);
  const remoteCmdWords = o.remoteCmd ?? process.env['AGENT_RUNNER_REMOTE_CMD'] ?? cfg?.monitor.remote_cmd ?? 'agent-runner';
  const remoteConfigPath = o.remoteConfig ?? process.env['AGENT_RUNNER_REMOTE_CONFIG'] ?? cfg?.monitor.remote_config ?? 'agent-runner.toml';

  const ctl = new AbortController();
  const stop = () => ctl.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // `monitor --json | head -1`: a closed pipe ends the monitor quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? stop() : undefined));
  const paint = painter();

  try {
    if (o.mode !== 'anomaly') return await followMode(o, cfg, host, ctl.signal);

    const intervalS = intervalFlag ?? cfg?.monitor.interval_s ?? (host ? 60 : 30);
    const toleranceS = cfg?.monitor.remote_failure_tolerance_s ?? 90;
    let source: PollSource;
    let statePath: string;
    let files: ReturnType<typeof monitorFiles>;
    let events: EventWriter;
    let target: { log_dir?: string; host?: string; remote_config?: string; resolved?: string };
    if (host) {
      const remoteConfig = remoteConfigPath;
      files = monitorFiles(remoteStateDir(host, remoteConfig));
      statePath = o.stateFile ? resolve(o.stateFile) : files.state;
      events = cfg ? eventsFor(cfg, files.dir) : new EventWriter(files.dir);
      target = { host, remote_config: remoteConfig };
      const session = new SshSession({ host, configFile: sshConfigFile(o) });
      const r = await session.resolve();
      if (r) {
        target.resolved = `${r.user}@${r.hostname}:${r.port}${r.proxyjump ? ` via ${r.proxyjump}` : ''}`;
        if (!o.json) warn(`watching ${host} = ${target.resolved} (as \`ssh -G ${host}\` resolves it)`);
      }
      source = new RemoteSource({
        session,
        remoteCmd: splitRemoteCmd(remoteCmdWords),
        remoteConfig,
        ...(cfg ? { pollTimeoutMs: cfg.monitor.remote_poll_timeout_s * 1000 } : {}),
        cursor: readMonitorState(statePath).state?.remote_cursor,
        mode: o.transport as 'stream' | 'exec',
      });
    } else {
      const c = cfg!;
      // The monitor's bookkeeping is its own, outside the project: watching must not change it.
      files = monitorFiles(localMonitorDir(c.path));
      statePath = o.stateFile ? resolve(o.stateFile) : files.state;
      if (!o.stateFile) adoptLegacyState(statePath, stateFiles(c.paths.logDir).legacyMonitorState);
      events = eventsFor(c, files.dir);
      target = { log_dir: c.paths.logDir };
      source = new LocalSource(c, historyFromState(readMonitorState(statePath).state), warn);
    }
    if (!o.json && !o.once) warn(`monitoring ${host ?? cfg!.project} every ${intervalS}s (Ctrl-C to stop); alerts are printed when they fire and when they resolve`);
    const print = o.json ? (r: AlertRecord) => process.stdout.write(JSON.stringify(r) + '\n') : (r: AlertRecord) => process.stdout.write(alertLine(r, paint) + '\n');
    let firing: AlertSet = {};
    const hooks = cfg ? monitorHooks(cfg, events, host, o, files.outbox) : undefined;
    // --listen: what the last cycle saw, exposed to Prometheus; counters only where the events are.
    let exposed: ProjectMetrics = { project: cfg?.project ?? host!, host: host ?? null, up: false, halted: null, alerts: [] };
    const totals = !host && cfg ? new LocalTotals(cfg.paths.logDir) : undefined;
    let server: MetricsServer | undefined;
    const listen = o.listen ?? (o.once ? undefined : cfg?.monitor.listen);
    let dashboard: Dashboard | undefined;
    if (listen) {
      // The dashboard of the project watched here, beside /metrics (a remote one is not read here yet).
      dashboard = !host && cfg ? await openDashboard(listen, cfg) : undefined;
      server = await startMetricsServer(listen, () => [{ ...exposed, ...(totals ? { totals: totals.update() } : {}) }], dashboard?.handle);
      // The port actually bound: `--listen 127.0.0.1:0` picks a free one.
      warn(`serving /metrics and /healthz on ${listen.replace(/:\d+$/, '')}:${server.port}${dashboard ? ', and the dashboard at /' : ''}`);
    }
    const expose = (alerts: AlertSet, polled: boolean, result?: ProbeResult) => {
      exposed = {
        project: result?.project ?? exposed.project,
        host: host ?? null,
        up: polled,
        halted: result ? result.halt !== null : null,
        alerts: Object.values(alerts).filter((a) => a.severity !== 'unknown').map((a) => ({ detector: a.detector, severity: a.severity })),
        last_supervisor_event_s: result?.last_supervisor_event ? Date.parse(result.last_supervisor_event.ts) / 1000 : null,
      };
    };
    const code = await runMonitor({
      ...(hooks ? { onTransition: hooks.onTransition } : {}),
      afterCycle: async (alerts, polled, result) => {
        expose(alerts, polled, result);
        await hooks?.afterCycle(alerts, polled);
      },
      source,
      events,
      statePath,
      target,
      once: Boolean(o.once),
      intervalS,
      toleranceS,
      autoStop: o.autoStop,
      signal: ctl.signal,
      print,
      warn,
      mode: 'anomaly',
      logDir: cfg?.paths.logDir ?? null,
      onExit: (a) => (firing = a),
    });
    await hooks?.close();
    dashboard?.close();
    await server?.close();
    if (o.once && !o.json) {
      // The transitions above are news; this is the whole picture, new or not.
      const word = ['healthy', 'warning', 'critical', 'unknown'][code] ?? 'unknown';
      const list = Object.values(firing).map((a) => `${a.detector}${a.subject ? ` (${a.subject})` : ''} ${a.severity} since ${a.since}`);
      process.stdout.write(`${host ? `${host}: ` : ''}${word}${list.length ? ` — firing: ${list.join('; ')}` : ''} (exit ${code})\n`);
    }
    return code;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * What the monitor tells the outside world besides its own output: alert transitions to the
 * [[notify]] channels, a ping to the dead man's switch after every cycle, the daily digest.
 */
function monitorHooks(cfg: Config, events: EventWriter, host: string | undefined, o: MonitorCommandOptions, outbox: string) {
  const notifier = cfg.notify.length ? Notifier.open(cfg, events, o.version, warn, outbox) : undefined;
  // What a crashed monitor or serve left queued goes out now.
  notifier?.kick();
  const origin = originOf(cfg);
  const hb = heartbeatBase(cfg);
  if (hb.problem) throw new ConfigError(cfg.path, 'monitor.heartbeat_url_env', hb.problem);
  const hbProblem = hb.url ? webhookUrlProblem(hb.url) : undefined;
  if (hbProblem) throw new ConfigError(cfg.path, 'monitor.heartbeat_url_env', hbProblem);
  let pingFailing = false;
  let digestDate: string | undefined;
  return {
    onTransition: (r: AlertRecord) => notifier?.notify(alertNotification(origin, r)),
    afterCycle: async (alerts: AlertSet, polled: boolean) => {
      if (hb.url) {
        const target = heartbeatUrl(hb.url, alerts, polled);
        const firing = Object.values(alerts).map((a) => `${a.detector} ${a.severity}`);
        const error = await ping(target.url, `${host ?? cfg.project}: ${firing.length ? firing.join(', ') : 'healthy'}`, 10_000, `agent-runner/${o.version}`);
        // Said once per spell of failures, not every cycle.
        if (error && !pingFailing) warn(`heartbeat ping failed (${error}); retrying every cycle`);
        pingFailing = Boolean(error);
      }
      // The digest reads the local project's events; a remote project's is not here.
      if (notifier && cfg.monitor.digest_at && !host) {
        const now = Date.now();
        const date = digestDueDate(cfg.monitor.digest_at, now);
        if (date && date !== digestDate) {
          digestDate = date;
          notifier.notify(digestNotification(origin, await collectDigest(cfg, alerts, now, date)));
        }
      }
    },
    close: async () => {
      const left = await notifier?.flush(10_000);
      if (left) warn(`${left} notification(s) still queued in ${outbox}; the next monitor, serve or "agent-runner notify flush" delivers them`);
    },
  };
}

function sshConfigFile(o: MonitorCommandOptions): string | undefined {
  const f = o.sshConfig ?? process.env['AGENT_RUNNER_SSH_CONFIG'];
  return f ? resolve(expandHome(f)) : undefined;
}

/** narrate/events: the last few events, then every new one as it is appended. */
async function followMode(o: MonitorCommandOptions, cfg: Config | undefined, host: string | undefined, signal: AbortSignal): Promise<number> {
  const emit = o.mode === 'narrate' ? (line: string) => {
    const l = narrateLine(line);
    if (l) process.stdout.write(l + '\n');
  } : (line: string) => process.stdout.write(line + '\n');
  if (host) return remoteFollow(o, host, emit, signal);
  const logDir = cfg!.paths.logDir;
  const start = cursorAtEnd(logDir);
  if (o.mode === 'narrate') {
    const recent: string[] = [];
    for (const line of eventLinesBackward(logDir, { bytes: 1024 * 1024 }, start)) {
      recent.push(line);
      if (recent.length >= 10) break;
    }
    for (const line of recent.reverse()) emit(line);
  }
  await followLines(logDir, start, emit, signal);
  return 0;
}

/** Over ssh: the remote's `events --tail`, streamed through this process. */
function remoteFollow(o: MonitorCommandOptions, host: string, emit: (line: string) => void, signal: AbortSignal): Promise<number> {
  const session = new SshSession({ host, configFile: sshConfigFile(o) });
  const remoteCmd = splitRemoteCmd(o.remoteCmd ?? process.env['AGENT_RUNNER_REMOTE_CMD'] ?? 'agent-runner');
  const remoteConfig = o.remoteConfig ?? process.env['AGENT_RUNNER_REMOTE_CONFIG'] ?? 'agent-runner.toml';
  const child = spawn('ssh', session.argv([...remoteCmd, 'events', '--tail', '--stop-on-eof', '--config', remoteConfig]), { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      emit(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  signal.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
  return new Promise((resolve) => {
    child.once('exit', async (code) => {
      await session.closeMaster();
      resolve(signal.aborted ? EXIT.OK : code === FOREIGN_EXIT.SSH_FAILED ? EXIT.MONITOR_UNKNOWN : (code ?? EXIT.FAILURE));
    });
    child.once('error', () => resolve(EXIT.MONITOR_UNKNOWN));
  });
}

function warn(line: string): void {
  process.stderr.write(`agent-runner: ${line}\n`);
}

function painter(): Painter {
  const colour = Boolean(process.stdout.isTTY) && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';
  return (style, text) => (colour ? styleText(style, text, { validateStream: false }) : text);
}

/** The dashboard mounted by `monitor --listen`: read-only, with the same access rule as `agent-runner dashboard`. */
async function openDashboard(listen: string, cfg: Config): Promise<Dashboard> {
  const [{ authFor }, { createDashboard }, { ConfigListSource }] = await Promise.all([import('../dashboard/open.js'), import('../dashboard/server.js'), import('../dashboard/local-source.js')]);
  const opened = authFor(listen);
  if (opened.token) warn(`the dashboard needs the token in ${opened.token.path} (Authorization: Bearer <token>)`);
  return createDashboard({ sources: [new ConfigListSource([cfg])], auth: opened.auth, allowActions: false, warn });
}
