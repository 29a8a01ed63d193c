import type { Config } from '../config/load.js';
import { FOREIGN_EXIT } from '../exit-codes.js';
import { stopService } from '../service/lifecycle.js';
import { RemoteCommandError, TransportError, type SshSession } from '../ssh/session.js';
import { ProbeChannel } from './probe-channel.js';
import type { HistoryState } from '../history/scan.js';
import { DIGEST_KIND, PROBE_VERSION, runProbe, type ProbeResult } from './probe.js';
import type { DigestFacts } from '../notify/messages.js';
import { classifyRemoteFailure, RemoteFailure, type RemoteFailureInput } from './remote-diagnosis.js';
import { remoteCommandLine } from '../ssh/args.js';
import { sleep } from '../util/sleep.js';
import { ChangeWatcher } from './change-watcher.js';
import { ConfigCache } from './config-cache.js';

/** Where a monitor's polls come from: this host's files, or a probe run on a remote host. */
export interface PollSource {
  readonly host: string | null;
  poll(): Promise<ProbeResult>;
  /**
   * Wait up to `ms` for the next poll, ending early when the source learns that something changed
   * (a push from the remote probe, a write under the local log_dir). Without it: a plain sleep.
   */
  waitForChange?(ms: number, signal: AbortSignal): Promise<void>;
  /** Stop the project's service gracefully, on the host the project runs on. */
  stopService(probe: ProbeResult): Promise<{ stopped: boolean; seconds: number; mode: string }>;
  close(): Promise<void>;
}

/** A sleep that news can cut short: a change noticed while nobody waits ends the next wait at once. */
export class Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending) {
      const cut = new AbortController();
      const stop = () => cut.abort();
      signal.addEventListener('abort', stop, { once: true });
      this.wake = stop;
      try {
        await sleep(ms, cut.signal);
      } finally {
        this.wake = undefined;
        signal.removeEventListener('abort', stop);
      }
    }
    this.pending = false;
  }
}

export class LocalSource implements PollSource {
  readonly host = null;
  private warnedReload = false;
  private watcher: ChangeWatcher | undefined;
  private readonly wakeup = new Wakeup();
  private readonly configs = new ConfigCache();

  constructor(
    private cfg: Config,
    public history: HistoryState | undefined,
    private readonly warn: (line: string) => void,
  ) {}

  async poll(): Promise<ProbeResult> {
    this.reloadConfig();
    const { result, history } = await runProbe(this.cfg, this.history);
    this.history = history;
    return result;
  }

  /** Thresholds edited while the monitor runs apply from the next poll; a broken edit keeps the old ones. */
  private reloadConfig(): void {
    try {
      this.cfg = this.configs.load(this.cfg.path);
      this.warnedReload = false;
    } catch (e) {
      if (!this.warnedReload) this.warn(`config reload failed, keeping the previous one: ${(e as Error).message}`);
      this.warnedReload = true;
    }
  }

  /** The same watch a remote probe keeps: a round's events are evaluated when written, not at the next poll. */
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    const dir = this.cfg.paths.logDir;
    if (this.watcher?.dir !== dir) {
      this.watcher?.close();
      this.watcher = new ChangeWatcher(dir, () => this.wakeup.notify());
    }
    return this.wakeup.wait(ms, signal);
  }

  async stopService(): Promise<{ stopped: boolean; seconds: number; mode: string }> {
    const r = await stopService(this.cfg);
    return { stopped: r.stopped, seconds: r.seconds, mode: r.mode };
  }

  async close(): Promise<void> {
    this.watcher?.close();
  }
}

export interface RemoteOptions {
  session: SshSession;
  /** The remote agent-runner program, as words (e.g. ["agent-runner"] or ["node", "/opt/ar/main.js"]). */
  remoteCmd: string[];
  /** The project's config file on the remote host. */
  remoteConfig: string;
  cursor: string | undefined;
  /** stream: one long-lived `probe --stdio` per connection; exec: one `probe --json` command per poll. */
  mode: 'stream' | 'exec';
  pollTimeoutMs?: number;
  /** The host's shared probe stream, when several projects are watched there (the owner closes it and the connection). */
  channel?: ProbeChannel;
  /** Ask the remote probe to push an evaluation whenever the project changes (stream transport, not --once). */
  push?: boolean;
}

/** A digest as the remote computes it: what fires is the watching side's to add. */
export type RemoteDigestFacts = Omit<DigestFacts, 'alerts_firing'>;

/** A remote project's digest, or why it has none today. */
export type RemoteDigest = { project: string; facts: RemoteDigestFacts } | { skipped: string };

export class RemoteSource implements PollSource {
  readonly host: string;
  cursor: string | undefined;
  private readonly channel: ProbeChannel;
  private readonly ownsConnection: boolean;
  /** The `seq` of the newest evaluation taken: an older one arriving late is dropped. */
  private seq = -1;
  private pushed: ProbeResult | undefined;
  private readonly wakeup = new Wakeup();
  private readonly unsubscribe: (() => void) | undefined;

  constructor(private readonly o: RemoteOptions) {
    this.host = o.session.host;
    this.cursor = o.cursor;
    this.ownsConnection = o.channel === undefined;
    this.channel = o.channel ?? new ProbeChannel(o.session, o.remoteCmd, o.remoteConfig);
    if (o.push && o.mode === 'stream') this.unsubscribe = this.channel.subscribe(o.remoteConfig, (p) => this.onPush(p));
  }

  /** Throws a RemoteFailure that says why when the poll fails. A pushed evaluation not yet taken is the answer, without asking. */
  async poll(): Promise<ProbeResult> {
    try {
      const pushed = this.pushed;
      this.pushed = undefined;
      const result = pushed ?? (this.o.mode === 'exec' ? await this.pollExec() : await this.pollStream());
      this.cursor = result.cursor;
      return result;
    } catch (e) {
      throw this.diagnose(e);
    }
  }

  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return this.wakeup.wait(ms, signal);
  }

  private onPush(raw: Record<string, unknown>): void {
    let result: ProbeResult;
    try {
      result = checkProbe(raw);
    } catch {
      return;
    }
    if (!this.newer(raw)) return;
    this.pushed = result;
    this.wakeup.notify();
  }

  /** Whether this line is newer than every one taken; records it as the newest when it is. */
  private newer(raw: unknown): boolean {
    const seq = (raw as { seq?: unknown }).seq;
    if (typeof seq !== 'number') return true;
    if (seq <= this.seq) return false;
    this.seq = seq;
    return true;
  }

  private diagnose(e: unknown): unknown {
    let input: RemoteFailureInput;
    if (e instanceof TransportError) input = { exitCode: e.exitCode, stderr: e.stderr, reason: e.message };
    else if (e instanceof RemoteCommandError) input = { exitCode: e.exitCode, stderr: e.stderr };
    else if (e instanceof ProbeAnswerError) input = { exitCode: 0, stderr: '', answer: e.answer };
    else return e;
    const command = remoteCommandLine([...this.o.remoteCmd, 'probe', '--config', this.o.remoteConfig]);
    return new RemoteFailure(classifyRemoteFailure(input, this.host, command));
  }

  private async pollExec(): Promise<ProbeResult> {
    const words = [...this.o.remoteCmd, 'probe', '--json', '--config', this.o.remoteConfig, ...(this.cursor ? ['--since', this.cursor] : [])];
    const r = await this.o.session.exec(words, { timeoutMs: this.o.pollTimeoutMs ?? 60_000 });
    if (r.code !== 0) throw new RemoteCommandError(remoteFailure(r.stderr, r.code), r.code, r.stderr);
    return parseProbe(r.stdout.trim().split('\n').at(-1) ?? '');
  }

  private async pollStream(): Promise<ProbeResult> {
    const watch = this.unsubscribe ? { watch: this.o.remoteConfig } : {};
    const line = await this.channel.request({ since: this.cursor ?? null, config: this.o.remoteConfig, ...watch }, this.o.pollTimeoutMs ?? 60_000);
    const raw = parseLine(line);
    const result = checkProbe(raw);
    this.newer(raw);
    // A push that left before this answer is older than it.
    if (this.pushed && !pushedAfter(this.pushed, raw)) this.pushed = undefined;
    // A release that ignores the request's config answers for its default project: never report that one as this one.
    if (this.o.channel && result.config !== this.o.remoteConfig)
      throw new ProbeAnswerError({ version: result.v, error: `the remote probe answered for ${result.config}, not ${this.o.remoteConfig} (a release without per-request configs)` });
    return result;
  }

  /**
   * The project's daily digest, computed by the remote probe where the events and git are. A
   * transport failure throws (the next cycle asks again); an answer that is no digest says why.
   */
  async digest(nowMs: number, date: string): Promise<RemoteDigest> {
    if (this.o.mode === 'exec') return { skipped: '--transport exec runs only the probe on the remote; --transport stream also carries the digest' };
    const line = await this.channel.request({ digest: { now_ms: nowMs, date }, config: this.o.remoteConfig }, this.o.pollTimeoutMs ?? 60_000);
    let raw: { kind?: unknown; v?: unknown; project?: unknown; digest?: unknown; error?: unknown };
    try {
      raw = JSON.parse(line) as typeof raw;
    } catch {
      return { skipped: `the remote probe answered with something that is not JSON: ${line.slice(0, 120)}` };
    }
    if (raw?.kind === DIGEST_KIND && raw.v === PROBE_VERSION && typeof raw.project === 'string' && typeof raw.digest === 'object' && raw.digest !== null)
      return { project: raw.project, facts: raw.digest as RemoteDigestFacts };
    if (raw?.kind === 'agent-runner.probe-error') return { skipped: `the remote probe failed: ${String(raw.error)}` };
    // A release without digests ignores the request's `digest` and evaluates the project instead.
    return { skipped: 'the remote agent-runner predates remote digests (its probe answered with an evaluation); upgrade it there' };
  }

  async stopService(probe: ProbeResult): Promise<{ stopped: boolean; seconds: number; mode: string }> {
    // The config path the probe itself loaded: the exact file, not a guess.
    const r = await this.o.session.exec([...this.o.remoteCmd, 'stop', '--config', probe.config, '--json'], { timeoutMs: 300_000 });
    if (r.code !== 0 && r.code !== 1) throw new RemoteCommandError(remoteFailure(r.stderr, r.code), r.code);
    try {
      const j = JSON.parse(r.stdout) as { stopped?: boolean; seconds?: number; mode?: string };
      return { stopped: j.stopped === true, seconds: Number(j.seconds ?? 0), mode: String(j.mode ?? 'unknown') };
    } catch {
      throw new RemoteCommandError(`remote stop printed no JSON (exit ${r.code}): ${remoteFailure(r.stderr, r.code)}`, r.code);
    }
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    if (!this.ownsConnection) return;
    await this.channel.close();
    await this.o.session.closeMaster();
  }
}

function remoteFailure(stderr: string, code: number): string {
  const line = stderr.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  if (code === FOREIGN_EXIT.NOT_FOUND) return `the remote program was not found (exit 127): ${line} (set --remote-cmd)`;
  return line ? `${line} (remote exit ${code})` : `remote exit ${code}`;
}

/** The remote probe answered, but not with a result this release reads. */
class ProbeAnswerError extends Error {
  constructor(readonly answer: NonNullable<RemoteFailureInput['answer']>) {
    super(answer.error ?? `probe version ${String(answer.version)}`);
  }
}

function parseProbe(line: string): ProbeResult {
  return checkProbe(parseLine(line));
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new ProbeAnswerError({ error: `the remote probe answered with something that is not JSON: ${line.slice(0, 120)}` });
  }
}

function pushedAfter(pushed: ProbeResult, answer: unknown): boolean {
  const a = (answer as { seq?: unknown }).seq;
  const p = (pushed as { seq?: unknown }).seq;
  return typeof a !== 'number' || typeof p !== 'number' || p > a;
}

function checkProbe(v: unknown): ProbeResult {
  const o = v as Omit<Partial<ProbeResult>, 'kind'> & { error?: string; code?: string; kind?: string };
  if (o?.kind === 'agent-runner.probe-error') throw new ProbeAnswerError({ error: o.error ?? 'the remote probe failed', ...(o.code ? { code: o.code } : {}) });
  if (o?.kind !== 'agent-runner.probe' || o.v !== PROBE_VERSION) throw new ProbeAnswerError({ version: o?.v ?? null, error: `the remote probe speaks version ${String(o?.v)}, this agent-runner version ${PROBE_VERSION}` });
  return o as unknown as ProbeResult;
}

export { TransportError, RemoteCommandError };
