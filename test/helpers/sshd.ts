// A real OpenSSH sshd on 127.0.0.1 with throwaway keys, for end-to-end tests that shell out to
// the system `ssh`. Nothing here reads or writes /etc/ssh or the user's ~/.ssh.
//
// OpenSSH ignores $HOME (it reads ~/.ssh from the passwd entry), so clients must use
// `ssh -F <configFile> ...` — see sshArgs(). The `home` directory exists so that code under test
// can be pointed at it, but only `-F` makes ssh actually read its config.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const SSHD = '/usr/sbin/sshd';
// setpriv (util-linux, essential on Debian) sets PR_SET_PDEATHSIG then execs sshd under the same
// pid, so a listener outlives neither a crashed nor a SIGKILLed test worker.
const SETPRIV = '/usr/bin/setpriv';
const execFileP = promisify(execFile);

export interface TestSshd {
  port: number;
  /** pid of the current sshd listener (changes on restart()). */
  pid: number;
  /** temp root holding the server's keys/config and `home`; removed by stop(). */
  dir: string;
  /** a temp HOME whose .ssh/config defines `Host <alias>` → 127.0.0.1:<port>, with IdentityFile,
   *  UserKnownHostsFile holding the server's real host key (StrictHostKeyChecking yes), BatchMode yes. */
  home: string;
  alias: string;
  /** login user on the server: the current user (root here). */
  user: string;
  configFile: string;
  knownHostsFile: string;
  identityFile: string;
  /** a ControlPath inside `dir`, for multiplexing tests: `-o ControlPath=${controlPath}`. */
  controlPath: string;
  /** argv prefix: ['ssh', '-F', configFile] */
  sshArgs(): string[];
  /** sshd's own stderr (-e), last 64 KiB: auth decisions, per-connection lines. */
  log(): string;
  /** SIGKILL the listener and every per-connection child (an outage: open sessions die too),
   *  then wait until the port refuses connections. */
  kill(): Promise<void>;
  /** start again on the same port with the same keys and config (recovery). */
  restart(): Promise<void>;
  /** kill everything (as kill()) and remove `dir`. Idempotent. */
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  /** Host alias written to the client config. Default 'sshd-test'. */
  alias?: string;
  /** Environment for remote commands, written as server-side `SetEnv` (OpenSSH ≥ 8.7), which
   *  overrides sshd's defaults (PATH, HOME, ...). The user's shell still runs its rc files on
   *  top: Debian's bash sources ~/.bashrc for ssh commands, which may prepend to PATH. Setting
   *  HOME to a directory without a .bashrc keeps PATH exactly as given. */
  env?: Record<string, string>;
}

/** Why startSshd() cannot work on this machine, or undefined if it should. */
export function sshdUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux (/proc), not ${process.platform}`;
  if (!isExecutable(SSHD)) return `${SSHD} missing (apt-get install -y openssh-server)`;
  for (const tool of ['ssh', 'ssh-keygen']) {
    if (!onPath(tool)) return `${tool} not on PATH (apt-get install -y openssh-client)`;
  }
  return undefined;
}

export async function startSshd(opts: StartSshdOptions = {}): Promise<TestSshd> {
  const reason = sshdUnavailableReason();
  if (reason !== undefined) throw new Error(`cannot start sshd: ${reason}`);
  const alias = opts.alias ?? 'sshd-test';
  if (!/^[A-Za-z0-9._-]+$/.test(alias)) throw new Error(`bad ssh alias: ${alias}`);
  const user = userInfo().username;
  // sshd running as root insists on its privilege-separation chroot dir; the package's tmpfiles
  // entry creates it at boot, which never happened here.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = await mkdtemp(join(tmpdir(), 'ar-sshd-'));
  const home = join(dir, 'home');
  const sshDir = join(home, '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const identityFile = join(sshDir, 'id_ed25519');
  const sshdConfig = join(dir, 'sshd_config');
  const pidFile = join(dir, 'sshd.pid');
  const authorizedKeys = join(dir, 'authorized_keys');
  const configFile = join(sshDir, 'config');
  const knownHostsFile = join(sshDir, 'known_hosts');
  const controlPath = join(dir, 'cm-%C');

  let log = '';
  let listener: ChildProcess | undefined;
  let stopped = false;

  const writeConfigs = async (port: number): Promise<void> => {
    const hostPub = (await readFile(`${hostKey}.pub`, 'utf8')).trim();
    await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPub}\n`);
    await writeFile(
      sshdConfig,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${pidFile}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        // The temp dir sits under world-writable /tmp, which StrictModes would reject.
        'StrictModes no',
        `AllowUsers ${user}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        // No PAM: no pam_motd/pam_systemd latency, no /etc/environment leaking into sessions.
        // Caveat: without PAM, sshd refuses accounts whose shadow password starts with '!'.
        'UsePAM no',
        'UseDNS no',
        'PrintMotd no',
        'PrintLastLog no',
        'X11Forwarding no',
        // Parallel tests and multiplexed masters would trip the defaults (10:30:100, 10).
        'MaxStartups 200',
        'MaxSessions 200',
        'Subsystem sftp internal-sftp',
        // One line: sshd keeps only the first SetEnv directive and silently drops later ones.
        ...(opts.env && Object.keys(opts.env).length > 0
          ? [`SetEnv ${Object.entries(opts.env).map(([k, v]) => setEnvArg(k, v)).join(' ')}`]
          : []),
        '',
      ].join('\n'),
    );
    await writeFile(
      configFile,
      [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${port}`,
        `  User ${user}`,
        `  IdentityFile ${identityFile}`,
        '  IdentitiesOnly yes',
        '  IdentityAgent none',
        `  UserKnownHostsFile ${knownHostsFile}`,
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  UpdateHostKeys no',
        '  BatchMode yes',
        '  PasswordAuthentication no',
        '  KbdInteractiveAuthentication no',
        '  ConnectTimeout 5',
        '  LogLevel ERROR',
        '',
      ].join('\n'),
    );
  };

  const launch = async (port: number): Promise<ChildProcess> => {
    await rm(pidFile, { force: true });
    const argv = [SSHD, '-D', '-e', '-f', sshdConfig];
    const child = isExecutable(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let exited: string | undefined;
    child.once('error', (err) => (exited = String(err)));
    child.once('exit', (code, signal) => (exited = `sshd exited (${code ?? signal})`));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-65_536);
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (exited !== undefined) throw new Error(`${exited} on port ${port}:\n${log}`);
      // sshd writes its PidFile only after binding, so our pid there proves the port is ours
      // (a TCP probe alone could hit whoever else grabbed the port).
      const written = await readFile(pidFile, 'utf8').catch(() => '');
      if (Number(written.trim()) === child.pid && (await accepts(port))) break;
      if (Date.now() > deadline) {
        await killTree(child);
        throw new Error(`sshd not ready on port ${port} within 10s:\n${log}`);
      }
      await sleep(20);
    }
    livePids.add(child.pid!);
    child.once('exit', () => livePids.delete(child.pid!));
    return child;
  };

  try {
    await Promise.all([keygen(hostKey), keygen(identityFile)]);
    await writeFile(authorizedKeys, await readFile(`${identityFile}.pub`));
    let port = 0;
    // A free port can be taken between probing and sshd's bind; retry with a fresh one.
    for (let attempt = 1; listener === undefined; attempt++) {
      port = await freePort();
      await writeConfigs(port);
      try {
        listener = await launch(port);
      } catch (err) {
        if (attempt >= 5 || !/Address already in use|Cannot bind/.test(String(err))) throw err;
      }
    }
    const sshd: TestSshd = {
      port,
      pid: listener.pid!,
      dir,
      home,
      alias,
      user,
      configFile,
      knownHostsFile,
      identityFile,
      controlPath,
      sshArgs: () => ['ssh', '-F', configFile],
      log: () => log,
      kill: async () => {
        if (listener === undefined) return;
        await killTree(listener);
        listener = undefined;
        await waitFor(async () => !(await accepts(port)), 5_000, `port ${port} still accepting`);
      },
      restart: async () => {
        if (stopped) throw new Error('sshd harness already stopped');
        if (listener !== undefined && listener.exitCode === null && listener.signalCode === null) {
          throw new Error('sshd is still running; kill() first');
        }
        listener = await launch(port);
        sshd.pid = listener.pid!;
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await sshd.kill();
        await rm(dir, { recursive: true, force: true });
      },
    };
    // Prove the whole chain once (key auth, known_hosts, account not locked) so a broken setup
    // fails here with sshd's own explanation instead of as a mysterious exit 255 in a test.
    await execFileP('ssh', ['-n', '-F', configFile, alias, 'true'], { timeout: 15_000 }).catch(async (err) => {
      await sshd.stop();
      throw new Error(`ssh ${alias} true failed: ${(err as { stderr?: string }).stderr ?? err}\nsshd log:\n${log}`);
    });
    return sshd;
  } catch (err) {
    if (listener !== undefined) await killTree(listener);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

// --- processes ---------------------------------------------------------------------------------

const livePids = new Set<number>();
// Last resort if a test forgets stop(): synchronous, so it still runs in the 'exit' handler.
process.once('exit', () => livePids.forEach((pid) => signalTree(pid, 'SIGKILL')));

/** [state, ppid] from /proc/PID/stat; comm may contain spaces and ')' so split after the last ')'. */
function procStat(pid: number): [string, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [state!, Number(ppid)];
  } catch {
    return undefined;
  }
}

/** PID 1 here never reaps orphans, so a killed grandchild lingers as a zombie: count Z/X as dead. */
export function isAlive(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** All processes below `root` by ppid, from one /proc scan. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = procStat(Number(name))?.[1];
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    const next = children.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

/** Per-connection sshd children call setsid(), so no process group covers them, and once the
 *  listener dies they are re-parented and untraceable. So: stop the listener, then keep stopping
 *  descendants until a /proc scan finds no new ones (a stopped process cannot fork), then kill. */
function signalTree(root: number, signal: NodeJS.Signals): number[] {
  const send = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  const doomed = new Set([root]);
  send(root, 'SIGSTOP');
  for (;;) {
    const fresh = descendants(root).filter((pid) => !doomed.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      send(pid, 'SIGSTOP');
      doomed.add(pid);
    }
  }
  for (const pid of doomed) send(pid, signal);
  return [...doomed];
}

async function killTree(child: ChildProcess): Promise<void> {
  // Already reaped: its pid may be reused and its children already re-parented; nothing to find.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pids = signalTree(child.pid!, 'SIGKILL');
  await exited;
  await waitFor(async () => pids.every((pid) => !isAlive(pid)), 5_000, `sshd pids still alive: ${pids}`);
}

// --- small utilities ---------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(ok: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms: ${what}`);
    await sleep(20);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1_000 });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** A port nothing listens on (as of now): for sshd, or for a connection that must be refused. */
/**
 * Client config text for a second "host": another alias of this sshd under a host name of its own
 * (`localhost`, IPv4 only), whose host key is added to the known hosts. With the same HostName the
 * two aliases would share one ControlPath (`%C` hashes host, port and user), and which client became
 * the master would decide how many connections the server sees.
 */
export function secondAlias(sshd: TestSshd, alias: string): string {
  const known = readFileSync(sshd.knownHostsFile, 'utf8');
  if (!known.includes('[localhost]')) writeFileSync(sshd.knownHostsFile, known + known.replace('[127.0.0.1]', '[localhost]'));
  return readFileSync(sshd.configFile, 'utf8').replace(`Host ${sshd.alias}`, `Host ${alias}`).replace('HostName 127.0.0.1', 'HostName localhost\n  AddressFamily inet');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function keygen(file: string): Promise<void> {
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'agent-runner-test', '-f', file]);
}

/** sshd_config splits arguments like a shell: quote the pair, escape `\` and `"`. */
function setEnvArg(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad env name: ${name}`);
  if (/[\n\r\0]/.test(value)) throw new Error(`env ${name}: newline or NUL not representable`);
  return `"${name}=${value.replace(/[\\"]/g, '\\$&')}"`;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && isExecutable(join(d, tool)));
}
