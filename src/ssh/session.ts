import { spawn, type ChildProcess } from 'node:child_process';
import { FOREIGN_EXIT } from '../exit-codes.js';
import { validateHost, remoteCommandLine } from './args.js';
import { controlDir, controlPath } from './control.js';

/**
 * The system OpenSSH client, so an alias means exactly what `ssh ALIAS` means (~/.ssh/config with
 * Include and ProxyJump, ssh-agent, keys, known_hosts). One multiplexed connection serves the whole
 * session; host keys are checked as the user's config says, and BatchMode makes an unknown host
 * or a missing key an error instead of a prompt.
 */
export interface SshOptions {
  host: string;
  /** `ssh -F FILE` (OpenSSH reads ~/.ssh of the passwd home, not $HOME). */
  configFile?: string | undefined;
  connectTimeoutS?: number;
  /** How long an idle master outlives its last client (a killed monitor's master goes away by itself). */
  persistS?: number;
  /** Where the control socket lives (default: controlDir()). */
  controlDir?: string;
}

/** The connection failed (ssh exit 255, a timeout, a dropped stream): the host's state is unknown. */
export class TransportError extends Error {
  constructor(
    message: string,
    /** What ssh wrote to stderr: the reason, in OpenSSH's words. */
    readonly stderr = '',
    /** 255 when ssh itself failed; null when there is no status (a timeout, ssh not runnable). */
    readonly exitCode: number | null = FOREIGN_EXIT.SSH_FAILED,
  ) {
    super(message);
  }
}
Object.defineProperty(TransportError.prototype, 'name', { value: 'TransportError' });

/** The remote command ran and failed (for instance a config error on the remote host). */
export class RemoteCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly stderr = '',
  ) {
    super(message);
  }
}
Object.defineProperty(RemoteCommandError.prototype, 'name', { value: 'RemoteCommandError' });

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class SshSession {
  readonly host: string;
  private readonly base: string[];

  constructor(readonly opts: SshOptions) {
    this.host = validateHost(opts.host);
    const dir = opts.controlDir ?? controlDir();
    this.base = [
      ...(opts.configFile ? ['-F', opts.configFile] : []),
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${opts.connectTimeoutS ?? 10}`,
      '-o', 'ServerAliveInterval=15',
      '-o', 'ServerAliveCountMax=3',
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${controlPath(dir)}`,
      '-o', `ControlPersist=${opts.persistS ?? 60}`,
    ];
  }

  /**
   * What the alias means, as OpenSSH itself resolves it (`ssh -G`: the user's config with Include,
   * Match and ProxyJump, without connecting): `user@hostname:port`, plus the jump host if any.
   */
  async resolve(): Promise<{ user: string; hostname: string; port: string; proxyjump?: string } | undefined> {
    const child = spawn('ssh', ['-G', ...(this.opts.configFile ? ['-F', this.opts.configFile] : []), '--', this.host], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = await collect(child, 10_000);
    if (r.code !== 0) return undefined;
    const kv = new Map(r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const));
    const proxyjump = kv.get('proxyjump');
    return { user: kv.get('user') ?? '', hostname: kv.get('hostname') ?? this.host, port: kv.get('port') ?? '22', ...(proxyjump && proxyjump !== 'none' ? { proxyjump } : {}) };
  }

  /** The full argv (without "ssh") for a remote command: options, `--`, host, one quoted command string. */
  argv(words: readonly string[], extra: string[] = []): string[] {
    return [...this.base, ...extra, '-T', '--', this.host, remoteCommandLine(words)];
  }

  /** Run one remote command over the shared connection. */
  exec(words: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const t0 = performance.now();
    const child = spawn('ssh', this.argv(words, ['-n']), { stdio: ['ignore', 'pipe', 'pipe'] });
    return collect(child, opts.timeoutMs ?? 60_000).then((r) => {
      const ms = performance.now() - t0;
      if (r.error) throw new TransportError(r.error, r.stderr, null);
      if (r.code === FOREIGN_EXIT.SSH_FAILED) throw new TransportError(oneLine(r.stderr) || 'ssh exited 255 (connection failed)', r.stderr);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms };
    });
  }

  /**
   * A long-lived remote command answering one line per request line. `unasked` sees every line
   * first and keeps those the remote wrote of its own accord (returns true), which are then no
   * request's answer.
   */
  stream(words: readonly string[], unasked?: (line: string) => boolean): LineStream {
    const child = spawn('ssh', this.argv(words), { stdio: ['pipe', 'pipe', 'pipe'] });
    return new LineStream(child, unasked);
  }

  /** pid of the running master, or undefined when there is none. */
  async masterPid(): Promise<number | undefined> {
    const r = await collect(spawn('ssh', [...this.base, '-O', 'check', '--', this.host], { stdio: ['ignore', 'pipe', 'pipe'] }), 10_000);
    const m = /pid=(\d+)/.exec(r.stderr);
    return r.code === 0 && m ? Number(m[1]) : undefined;
  }

  /** Close the shared connection (a no-op when none is open). */
  async closeMaster(): Promise<void> {
    await collect(spawn('ssh', [...this.base, '-O', 'exit', '--', this.host], { stdio: ['ignore', 'pipe', 'pipe'] }), 10_000);
  }
}

/** ssh's diagnostics in one line (the reason is often on the last of several lines). */
function oneLine(s: string): string {
  const text = s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
  return text.length > 400 ? text.slice(0, 400) + '…' : text;
}

interface Collected {
  code: number;
  stdout: string;
  stderr: string;
  error?: string;
}

/**
 * Output and exit status of a child. Resolves on 'exit' (plus a moment for the pipes to drain),
 * not on 'close': a master ssh forking into the background must not be able to hold us.
 */
function collect(child: ChildProcess, timeoutMs: number): Promise<Collected> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const finish = (r: Collected) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ code: FOREIGN_EXIT.SSH_FAILED, stdout, stderr, error: `ssh did not finish within ${Math.round(timeoutMs / 1000)}s` });
    }, timeoutMs);
    child.once('error', (e) => finish({ code: FOREIGN_EXIT.SSH_FAILED, stdout, stderr, error: `cannot run ssh: ${e.message}` }));
    child.once('exit', (code, signal) => {
      const settle = () => finish({ code: code ?? (signal ? FOREIGN_EXIT.SSH_FAILED : 1), stdout, stderr });
      let closed = false;
      child.once('close', () => {
        closed = true;
        settle();
      });
      setTimeout(() => closed || settle(), 200);
    });
  });
}

/**
 * A remote process that reads requests and writes responses, one line each, over one ssh session.
 * A request times out, or the stream ends, as a TransportError.
 */
export class LineStream {
  private buf = '';
  /** Complete lines no request has taken yet. */
  private lines: string[] = [];
  private stderr = '';
  private waiting: { resolve: (l: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private ended: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly unasked?: (line: string) => boolean,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      this.deliver();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4096);
    });
    child.stdin!.on('error', () => {
      /* the stream died; reported through 'exit' */
    });
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => {
        this.fail(new TransportError(`cannot run ssh: ${e.message}`, '', null));
        resolve();
      });
      child.once('exit', (code) => {
        const why = oneLine(this.stderr) || `ssh exited ${code ?? 'by a signal'}`;
        // 255 is ssh's own failure; any other status is the remote command's.
        this.fail(
          code !== null && code !== FOREIGN_EXIT.SSH_FAILED && code !== 0
            ? new RemoteCommandError(`${why} (remote exit ${code})`, code, this.stderr)
            : new TransportError(why, this.stderr, code === FOREIGN_EXIT.SSH_FAILED ? code : null),
        );
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  request(line: string, timeoutMs: number): Promise<string> {
    if (this.ended !== undefined) return Promise.reject(this.ended);
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.ended ??= new TransportError(`no answer within ${Math.round(timeoutMs / 1000)}s`, this.stderr, null);
        this.child.kill('SIGKILL');
        reject(this.ended);
      }, timeoutMs);
      this.waiting = { resolve, reject, timer };
      this.child.stdin!.write(line.endsWith('\n') ? line : line + '\n');
      this.deliver();
    });
  }

  private deliver(): void {
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!this.unasked?.(line)) this.lines.push(line);
    }
    if (!this.waiting || this.lines.length === 0) return;
    const line = this.lines.shift()!;
    const w = this.waiting;
    this.waiting = undefined;
    clearTimeout(w.timer);
    w.resolve(line);
  }

  private fail(why: Error): void {
    if (this.ended === undefined) this.ended = why;
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      clearTimeout(w.timer);
      w.reject(this.ended);
    }
  }

  /** End the remote command (EOF on its stdin), killing the local ssh if it lingers. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin!.end();
      const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(t);
    }
  }
}
