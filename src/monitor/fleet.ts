import { SshSession } from '../ssh/session.js';
import { ProbeChannel } from './probe-channel.js';
import type { ProbeResult } from './probe.js';
import { RemoteFailure } from './remote-diagnosis.js';
import { discoverProjects, type RemoteProject } from './remote-discovery.js';
import { RemoteSource, type PollSource } from './sources.js';

/**
 * Several hosts, every project on each: one ssh connection and one remote probe per host, one
 * watched target (its own alerts, state and output lines) per host × project.
 */
export interface FleetOptions {
  hosts: string[];
  sshConfigFile: string | undefined;
  remoteCmd: string[];
  /** A config path to watch on every host; unset: each host's registered projects (`ls --json`). */
  remoteConfig: string | undefined;
  /** Only the project of this name. */
  project: string | undefined;
  mode: 'stream' | 'exec';
  /** Ask each remote probe to push changes (a running monitor; not `--once`). */
  push: boolean;
  pollTimeoutMs: number;
  signal: AbortSignal;
}

export interface FleetTarget {
  host: string;
  /** The project's name as the host registered it; null when named by path only. */
  project: string | null;
  remoteConfig: string;
  source: PollSource;
}

/** Watch one target until it ends (or `signal` aborts it); resolves to its exit code. */
export type WatchTarget = (t: FleetTarget, signal: AbortSignal) => Promise<number>;

export async function runFleet(o: FleetOptions, watch: WatchTarget): Promise<number> {
  const tasks: Array<Promise<number>> = [];
  const hosts = [...new Set(o.hosts)].map((host) => {
    const session = new SshSession({ host, configFile: o.sshConfigFile });
    return { session, channel: new ProbeChannel(session, o.remoteCmd, o.remoteConfig ?? 'agent-runner.toml') };
  });
  const sourceFor = (h: (typeof hosts)[number], remoteConfig: string) =>
    new RemoteSource({ session: h.session, channel: h.channel, remoteCmd: o.remoteCmd, remoteConfig, cursor: undefined, mode: o.mode, push: o.push, pollTimeoutMs: o.pollTimeoutMs });
  // With the stream transport the host's one probe lists its projects too: one remote process.
  const discovery = (h: (typeof hosts)[number]) => ({ project: o.project, timeoutMs: o.pollTimeoutMs, ...(o.mode === 'stream' ? { channel: h.channel } : {}) });
  const startProjects = (h: (typeof hosts)[number], projects: RemoteProject[]) => {
    for (const p of projects) tasks.push(watch({ host: h.session.host, project: p.name, remoteConfig: p.config, source: sourceFor(h, p.config) }, o.signal));
  };

  try {
    await Promise.all(
      hosts.map(async (h) => {
        if (o.remoteConfig !== undefined) {
          tasks.push(watch({ host: h.session.host, project: null, remoteConfig: o.remoteConfig, source: sourceFor(h, o.remoteConfig) }, o.signal));
          return;
        }
        try {
          startProjects(h, await discoverProjects(h.session, o.remoteCmd, discovery(h)));
        } catch (e) {
          if (!(e instanceof RemoteFailure)) throw e;
          // The host is watched anyway: its failure is its alert, and once its projects can be
          // listed they are watched and this stand-in ends.
          const ended = new AbortController();
          const abort = () => ended.abort();
          o.signal.addEventListener('abort', abort, { once: true });
          const source = new DiscoverySource(h.session.host, e, () => discoverProjects(h.session, o.remoteCmd, discovery(h)), (found) => {
            startProjects(h, found);
            ended.abort();
          });
          tasks.push(watch({ host: h.session.host, project: null, remoteConfig: '', source }, ended.signal).finally(() => o.signal.removeEventListener('abort', abort)));
        }
      }),
    );
    // Targets found later join the list while it is awaited.
    let codes: number[] = [];
    for (let seen = 0; seen < tasks.length; seen = codes.length) codes = await Promise.all(tasks);
    return Math.max(0, ...codes);
  } finally {
    await Promise.all(hosts.map(async (h) => {
      await h.channel.close();
      await h.session.closeMaster();
    }));
  }
}

/**
 * A host whose projects could not be listed: each poll tries again, and fails with the reason
 * until the list comes. What it found is handed over; the stand-in then reports nothing more.
 */
class DiscoverySource implements PollSource {
  constructor(
    readonly host: string,
    private first: RemoteFailure | undefined,
    private readonly discover: () => Promise<RemoteProject[]>,
    private readonly found: (projects: RemoteProject[]) => void,
  ) {}

  async poll(): Promise<ProbeResult> {
    const first = this.first;
    this.first = undefined;
    if (first) throw first;
    const projects = await this.discover();
    this.found(projects);
    // The stand-in's monitor is aborted by now, and ends without counting this as an outage.
    throw new RemoteFailure({ kind: 'host_unreachable', message: 'handed over to the projects found', fix: '', exitCode: null });
  }

  stopService(): Promise<{ stopped: boolean; seconds: number; mode: string }> {
    return Promise.reject(new Error('no project to stop'));
  }

  async close(): Promise<void> {}
}
