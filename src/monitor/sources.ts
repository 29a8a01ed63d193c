import { loadConfig, type Config } from '../config/load.js';
import { FOREIGN_EXIT } from '../exit-codes.js';
import { stopService } from '../service/lifecycle.js';
import { RemoteCommandError, TransportError, type LineStream, type SshSession } from '../ssh/session.js';
import type { HistoryState } from '../history/scan.js';
import { PROBE_VERSION, runProbe, type ProbeResult } from './probe.js';
import { classifyRemoteFailure, RemoteFailure, type RemoteFailureInput } from './remote-diagnosis.js';
import { remoteCommandLine } from '../ssh/args.js';

/** Where a monitor's polls come from: this host's files, or a probe run on a remote host. */
export interface PollSource {
  readonly host: string | null;
  poll(): Promise<ProbeResult>;
  /** Stop the project's service gracefully, on the host the project runs on. */
  stopService(probe: ProbeResult): Promise<{ stopped: boolean; seconds: number; mode: string }>;
  close(): Promise<void>;
}

export class LocalSource implements PollSource {
  readonly host = null;
  private warnedReload = false;

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
      this.cfg = loadConfig(this.cfg.path);
      this.warnedReload = false;
    } catch (e) {
      if (!this.warnedReload) this.warn(`config reload failed, keeping the previous one: ${(e as Error).message}`);
      this.warnedReload = true;
    }
  }

  async stopService(): Promise<{ stopped: boolean; seconds: number; mode: string }> {
    const r = await stopService(this.cfg);
    return { stopped: r.stopped, seconds: r.seconds, mode: r.mode };
  }

  async close(): Promise<void> {}
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
}

export class RemoteSource implements PollSource {
  readonly host: string;
  cursor: string | undefined;
  private stream: LineStream | undefined;

  constructor(private readonly o: RemoteOptions) {
    this.host = o.session.host;
    this.cursor = o.cursor;
  }

  /** Throws a RemoteFailure that says why when the poll fails. */
  async poll(): Promise<ProbeResult> {
    try {
      const result = this.o.mode === 'exec' ? await this.pollExec() : await this.pollStream();
      this.cursor = result.cursor;
      return result;
    } catch (e) {
      throw this.diagnose(e);
    }
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
    if (!this.stream?.alive) {
      await this.stream?.close();
      this.stream = this.o.session.stream([...this.o.remoteCmd, 'probe', '--stdio', '--config', this.o.remoteConfig]);
    }
    const line = await this.stream.request(JSON.stringify({ since: this.cursor ?? null }), this.o.pollTimeoutMs ?? 60_000);
    return parseProbe(line);
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
    await this.stream?.close();
    this.stream = undefined;
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
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProbeAnswerError({ error: `the remote probe answered with something that is not JSON: ${line.slice(0, 120)}` });
  }
  const o = v as Omit<Partial<ProbeResult>, 'kind'> & { error?: string; code?: string; kind?: string };
  if (o?.kind === 'agent-runner.probe-error') throw new ProbeAnswerError({ error: o.error ?? 'the remote probe failed', ...(o.code ? { code: o.code } : {}) });
  if (o?.kind !== 'agent-runner.probe' || o.v !== PROBE_VERSION) throw new ProbeAnswerError({ version: o?.v ?? null, error: `the remote probe speaks version ${String(o?.v)}, this agent-runner version ${PROBE_VERSION}` });
  return o as unknown as ProbeResult;
}

export { TransportError, RemoteCommandError };
