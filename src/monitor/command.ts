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
import { collectDigest, digestDueDate, firingNow } from './daily-digest.js';
import { heartbeatUrl, ping } from './heartbeat.js';
import { LOCAL_HOST, LocalTotals } from '../metrics/collect.js';
import { FleetStates } from './fleet-states.js';
import type { ProjectMetrics } from '../metrics/exposition.js';
import type { ProbeResult } from './probe.js';
import { startMetricsServer, type MetricsServer } from './listen.js';
import type { Dashboard } from '../dashboard/server.js';
import { stateFiles } from '../state/files.js';
import { splitRemoteCmd, validateHost } from '../ssh/args.js';
import { SshSession } from '../ssh/session.js';
import type { AlertRecord, AlertSet } from './alerts.js';
import { positiveSeconds } from './cli-args.js';
import { narrateLine, type Painter } from './render.js';
import { MonitorOutput } from './output.js';
import { runMonitor } from './run.js';
import { LocalSource, RemoteSource, type PollSource, type RemoteDigest } from './sources.js';
import { runFleet } from './fleet.js';
import { adoptLegacyState, historyFromState, localMonitorDir, monitorFiles, readMonitorState, remoteStateDir } from './state-file.js';

export interface MonitorCommandOptions {
  /** --host, once or several times. */
  host?: string | string[] | undefined;
  /** With --host and no --remote-config: only the registered project of this name. */
  project?: string | undefined;
  /**
   * Set for each target of a fleet: its source (none for a project of this host's registry, read
   * from its own files), the fleet's signal, the project's name, and where it reports (--listen).
   */
  target?: { source?: PollSource | undefined; signal: AbortSignal; project: string | null; remoteConfig: string; report?: TargetReport | undefined } | undefined;
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

/** A fleet target's cycles, for the fleet's /metrics and dashboard; `ended` when it stops being watched. */
interface TargetReport {
  cycle(alerts: AlertSet, polled: boolean, result: ProbeResult | undefined): void;
  /** A project of this host: what its /metrics series are now (its counters included). */
  exposes?(metrics: () => ProjectMetrics): void;
  /** `handedOver`: its watch was ended on purpose (a host's stand-in whose projects are now watched), not given up. */
  ended(handedOver: boolean): void;
}

const MODES = ['anomaly', 'narrate', 'events'] as const;

export async function runMonitorCommand(o: MonitorCommandOptions): Promise<number> {
  if (!MODES.includes(o.mode as (typeof MODES)[number])) throw new UsageError(`--mode expects one of ${MODES.join(', ')}, got "${o.mode}"`);
  if (o.transport !== 'stream' && o.transport !== 'exec') throw new UsageError(`--transport expects stream or exec, got "${o.transport}"`);
  let hosts = (typeof o.host === 'string' ? [o.host] : (o.host ?? [])).map(validateHost);
  const intervalFlag = o.interval !== undefined ? positiveSeconds('--interval', o.interval) : undefined;

  // No config here, none named, no host: every project of this host's registry is watched.
  if (o.mode === 'anomaly' && hosts.length === 0 && !o.target && !o.configExplicit && !o.configExists) return runRegistry(o);
  // Locally the project's config is the subject; with --host it only supplies [monitor] settings
  // (the remote evaluates with its own config), so it may be absent unless named explicitly.
  const cfg: Config | undefined = hosts.length === 0 || o.configExplicit || o.configExists ? loadConfig(resolve(o.configPath)) : undefined;
  // A registry member's own [monitor] hosts are for a monitor run in that project, not for this one.
  if (hosts.length === 0 && cfg && !o.target) hosts = (cfg.monitor.hosts ?? (cfg.monitor.host ? [cfg.monitor.host] : [])).map(validateHost);
  const host = hosts[0];
  const remoteCmdWords = o.remoteCmd ?? process.env['AGENT_RUNNER_REMOTE_CMD'] ?? cfg?.monitor.remote_cmd ?? 'agent-runner';
  const namedRemoteConfig = o.target?.remoteConfig ?? o.remoteConfig ?? process.env['AGENT_RUNNER_REMOTE_CONFIG'] ?? cfg?.monitor.remote_config;
  const remoteConfigPath = namedRemoteConfig ?? 'agent-runner.toml';
  if (o.project !== undefined && namedRemoteConfig !== undefined && !o.target) throw new UsageError('--project picks among the projects registered on the host; it cannot be combined with --remote-config (monitor.remote_config)');
  if (o.project !== undefined && hosts.length === 0) throw new UsageError('--project needs --host: it picks among the projects registered on that host');

  const ctl = new AbortController();
  const stop = () => ctl.abort();
  // A fleet's targets share the fleet's signal and its handlers.
  if (o.target) o.target.signal.addEventListener('abort', stop, { once: true });
  else {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // `monitor --json | head -1`: a closed pipe ends the monitor quietly.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? stop() : undefined));
  }
  const paint = painter();

  try {
    if (o.mode !== 'anomaly') {
      if (hosts.length > 1) throw new UsageError(`--mode ${o.mode} follows one host; give one --host`);
      return await followMode(o, cfg, host, ctl.signal);
    }
    // Several hosts, or a host's registered projects: one target per host × project.
    if (!o.target && hosts.length > 0 && (hosts.length > 1 || namedRemoteConfig === undefined)) {
      const listen = o.listen ?? (o.once ? undefined : cfg?.monitor.listen);
      const served = listen ? await serveFleet(listen) : undefined;
      try {
        return await runFleet(
          {
            hosts,
            sshConfigFile: sshConfigFile(o),
            remoteCmd: splitRemoteCmd(remoteCmdWords),
            remoteConfig: namedRemoteConfig,
            project: o.project,
            mode: o.transport as 'stream' | 'exec',
            push: !o.once,
            pollTimeoutMs: (cfg?.monitor.remote_poll_timeout_s ?? 60) * 1000,
            signal: ctl.signal,
          },
          (t, signal) => {
            const states = served?.states;
            // A host's stand-in (its projects not listed yet) leaves the list when its projects join it;
            // a target that gave up stays, as down.
            const report: TargetReport | undefined = states && { cycle: (alerts, polled, result) => states.report(t, alerts, polled, result), ended: (handedOver) => states.ended(t, handedOver) };
            return runMonitorCommand({ ...o, host: t.host, stateFile: undefined, listen: undefined, target: { source: t.source, signal, project: t.project, remoteConfig: t.remoteConfig, report } });
          },
        );
      } finally {
        await served?.close();
      }
    }

    const intervalS = intervalFlag ?? cfg?.monitor.interval_s ?? (host ? 60 : 30);
    const toleranceS = cfg?.monitor.remote_failure_tolerance_s ?? 90;
    let source: PollSource;
    let statePath: string;
    let files: ReturnType<typeof monitorFiles>;
    let events: EventWriter;
    let target: { log_dir?: string; host?: string; remote_config?: string; resolved?: string };
    if (host && o.target?.source) {
      files = monitorFiles(remoteStateDir(host, remoteConfigPath || `${host}-discovery`));
      statePath = files.state;
      events = cfg ? eventsFor(cfg, files.dir) : new EventWriter(files.dir);
      target = { host, remote_config: remoteConfigPath };
      source = o.target.source;
      if (source instanceof RemoteSource) source.cursor ??= readMonitorState(statePath).state?.remote_cursor;
    } else if (host) {
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
        push: !o.once,
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
    const label = o.target?.project ? [host, o.target.project].filter(Boolean).join(' ') : (host ?? cfg!.project);
    if (!o.json && !o.once) warn(`monitoring ${label} every ${intervalS}s (Ctrl-C to stop); alerts are printed when they fire and when they resolve`);
    // A fleet's lines each say which project they are about, from the first line on.
    const out = new MonitorOutput({ json: o.json, once: Boolean(o.once), host: host ?? null, paint, write: (line) => process.stdout.write(line + '\n') }, o.target ? o.target.project : host ? null : cfg!.project);
    let cursor: string | null = source instanceof RemoteSource ? (source.cursor ?? null) : null;
    let firing: AlertSet = {};
    const hooks = cfg ? monitorHooks(cfg, events, host, o, files.outbox, { remote: source instanceof RemoteSource ? source : undefined, label }) : undefined;
    // --listen: what the last cycle saw, exposed to Prometheus; counters only where the events are.
    let exposed: ProjectMetrics = { project: cfg?.project ?? host!, host: host ?? LOCAL_HOST, up: false, halted: null, alerts: [] };
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
    o.target?.report?.exposes?.(() => ({ ...exposed, ...(totals ? { totals: totals.update() } : {}) }));
    const expose = (alerts: AlertSet, polled: boolean, result?: ProbeResult) => {
      exposed = {
        project: result?.project ?? exposed.project,
        host: host ?? LOCAL_HOST,
        up: polled,
        halted: result ? result.halt !== null : null,
        alerts: Object.values(alerts).filter((a) => a.severity !== 'unknown').map((a) => ({ detector: a.detector, severity: a.severity })),
        last_supervisor_event_s: result?.last_supervisor_event ? Date.parse(result.last_supervisor_event.ts) / 1000 : null,
      };
    };
    const code = await runMonitor({
      ...(hooks ? { onTransition: hooks.onTransition } : {}),
      afterCycle: async (alerts, polled, result, transitions) => {
        if (result) cursor = result.cursor;
        out.cycle(alerts, result, transitions, cursor);
        expose(alerts, polled, result);
        o.target?.report?.cycle(alerts, polled, result);
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
      print: (r) => out.transition(r),
      warn,
      mode: 'anomaly',
      logDir: cfg?.paths.logDir ?? null,
      onExit: (a) => (firing = a),
    });
    o.target?.report?.ended(o.target.signal.aborted);
    await hooks?.close();
    dashboard?.close();
    await server?.close();
    // The transitions above are news; this is the whole picture, new or not.
    out.summary(firing);
    return code;
  } finally {
    o.target?.signal.removeEventListener('abort', stop);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * What the monitor tells the outside world besides its own output: alert transitions to the
 * [[notify]] channels, a ping to the dead man's switch after every cycle, the daily digest.
 */
function monitorHooks(cfg: Config, events: EventWriter, host: string | undefined, o: MonitorCommandOptions, outbox: string, watched: { remote: RemoteSource | undefined; label: string }) {
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
  let digestFailing = false;
  let digestSkipSaid = false;
  // A remote project's digest is computed by its probe, where its events and git are.
  const remoteDigest = async (remote: RemoteSource, alerts: AlertSet, now: number, date: string) => {
    let got: RemoteDigest;
    try {
      got = await remote.digest(now, date);
    } catch (e) {
      if (!digestFailing) warn(`the daily digest of ${watched.label} was not fetched (${(e as Error).message}); asking again next cycle`);
      digestFailing = true;
      return;
    }
    digestFailing = false;
    digestDate = date;
    if ('skipped' in got) {
      // Said once: a remote that cannot compute it today will not tomorrow either.
      if (!digestSkipSaid) warn(`no daily digest for ${watched.label}: ${got.skipped}`);
      digestSkipSaid = true;
      return;
    }
    notifier?.notify(digestNotification({ project: got.project, host: remote.host }, { ...got.facts, alerts_firing: firingNow(alerts) }, true));
  };
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
      if (notifier && cfg.monitor.digest_at) {
        const now = Date.now();
        const date = digestDueDate(cfg.monitor.digest_at, now);
        if (date && date !== digestDate) {
          if (watched.remote) {
            // Asked of a host that answered this cycle; an unreachable one is asked next cycle.
            if (polled) await remoteDigest(watched.remote, alerts, now, date);
          } else if (!host) {
            digestDate = date;
            notifier.notify(digestNotification(origin, await collectDigest(cfg, alerts, now, date)));
          }
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

/** How many recent events narrate shows before following, and `--once` prints in either mode. */
const RECENT_EVENTS = 10;

/**
 * narrate/events: the last few events, then every new one as it is appended. `--once`: the last
 * few, then exit. `--json` (and events mode) prints the event lines as stored, narrate without it
 * upstream's readable line.
 */
async function followMode(o: MonitorCommandOptions, cfg: Config | undefined, host: string | undefined, signal: AbortSignal): Promise<number> {
  const emit = o.mode === 'narrate' && !o.json ? (line: string) => {
    const l = narrateLine(line);
    if (l) process.stdout.write(l + '\n');
  } : (line: string) => {
    // A torn or foreign line is skipped in JSON output, as narrate skips it: every line parses.
    if (narrateLine(line) !== undefined) process.stdout.write(line + '\n');
  };
  if (host) return remoteFollow(o, host, emit, signal);
  const logDir = cfg!.paths.logDir;
  const start = cursorAtEnd(logDir);
  if (o.mode === 'narrate' || o.once) {
    const recent: string[] = [];
    for (const line of eventLinesBackward(logDir, { bytes: 1024 * 1024 }, start)) {
      recent.push(line);
      if (recent.length >= RECENT_EVENTS) break;
    }
    for (const line of recent.reverse()) emit(line);
  }
  if (o.once) return EXIT.OK;
  await followLines(logDir, start, emit, signal);
  return EXIT.OK;
}

/** Over ssh: the remote's `events --tail`, streamed through this process. */
function remoteFollow(o: MonitorCommandOptions, host: string, emit: (line: string) => void, signal: AbortSignal): Promise<number> {
  const session = new SshSession({ host, configFile: sshConfigFile(o) });
  const remoteCmd = splitRemoteCmd(o.remoteCmd ?? process.env['AGENT_RUNNER_REMOTE_CMD'] ?? 'agent-runner');
  const remoteConfig = o.remoteConfig ?? process.env['AGENT_RUNNER_REMOTE_CONFIG'] ?? 'agent-runner.toml';
  const which = o.once ? ['--window', String(RECENT_EVENTS)] : ['--tail', '--stop-on-eof'];
  const child = spawn('ssh', session.argv([...remoteCmd, 'events', ...which, '--config', remoteConfig]), { stdio: ['pipe', 'pipe', 'inherit'] });
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

/**
 * `monitor --host a --host b --listen`: /metrics and the dashboard for every host × project of
 * the fleet, from what its targets report after each cycle (nothing more is fetched for them).
 */
async function serveFleet(listen: string): Promise<{ states: FleetStates; close(): Promise<void> }> {
  const states = new FleetStates();
  const [{ authFor }, { createDashboard }, { FleetSource }] = await Promise.all([import('../dashboard/open.js'), import('../dashboard/server.js'), import('../dashboard/fleet-source.js')]);
  const opened = authFor(listen);
  if (opened.token) warn(`the dashboard needs the token in ${opened.token.path} (Authorization: Bearer <token>)`);
  const dashboard = createDashboard({ sources: [new FleetSource(states)], auth: opened.auth, allowActions: false, warn });
  const server = await startMetricsServer(listen, () => states.metrics(), dashboard.handle);
  warn(`serving /metrics and /healthz on ${listen.replace(/:\d+$/, '')}:${server.port}, and the dashboard at / (every host × project)`);
  return {
    states,
    close: async () => {
      dashboard.close();
      await server.close();
    },
  };
}

/**
 * `monitor` with no config and no host: every project of this host's registry (`agent-runner ls`),
 * each watched as `monitor --config` would watch it (its own alerts, state, notifications,
 * auto-stop), in one process; with --listen, /metrics and the dashboard cover them all. The
 * projects are those registered when the monitor starts.
 */
async function runRegistry(o: MonitorCommandOptions): Promise<number> {
  const { listProjects } = await import('../registry/projects.js');
  const { existsSync } = await import('node:fs');
  const entries = listProjects().entries.map((e) => e.entry).filter((e) => existsSync(e.config));
  if (entries.length === 0) throw new UsageError('no agent-runner.toml here and no project registered on this host (`agent-runner ls` lists none); give --config, or --host to watch another host');
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? stop() : undefined));
  const exposed: Array<() => ProjectMetrics> = [];
  const listen = o.listen;
  let served: { close(): Promise<void> } | undefined;
  try {
    if (listen && !o.once) {
      const [{ authFor }, { createDashboard }, { ConfigListSource }] = await Promise.all([import('../dashboard/open.js'), import('../dashboard/server.js'), import('../dashboard/local-source.js')]);
      const opened = authFor(listen);
      if (opened.token) warn(`the dashboard needs the token in ${opened.token.path} (Authorization: Bearer <token>)`);
      const configs = entries.flatMap((e) => {
        try {
          return [loadConfig(e.config)];
        } catch {
          return [];
        }
      });
      const dashboard = createDashboard({ sources: [new ConfigListSource(configs)], auth: opened.auth, allowActions: false, warn });
      const server = await startMetricsServer(listen, () => exposed.map((get) => get()), dashboard.handle);
      warn(`serving /metrics and /healthz on ${listen.replace(/:\d+$/, '')}:${server.port}, and the dashboard at / (every registered project)`);
      served = {
        close: async () => {
          dashboard.close();
          await server.close();
        },
      };
    }
    const codes = await Promise.all(
      entries.map(async (e) => {
        try {
          return await runMonitorCommand({ ...o, configPath: e.config, configExplicit: true, configExists: true, stateFile: undefined, listen: undefined, target: { signal: ctl.signal, project: e.name, remoteConfig: e.config, report: { cycle: () => undefined, ended: () => undefined, exposes: (get) => exposed.push(get) } } });
        } catch (err) {
          // One project whose config no longer loads is said, and the others are watched.
          if (!(err instanceof ConfigError)) throw err;
          warn(`not watching ${e.name}: ${err.message}`);
          exposed.push(() => ({ project: e.name, host: LOCAL_HOST, up: false, halted: null, alerts: [] }));
          return EXIT.MONITOR_UNKNOWN;
        }
      }),
    );
    return Math.max(0, ...codes);
  } finally {
    await served?.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
