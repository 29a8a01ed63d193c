/**
 * A real, private `systemd --user` manager for end-to-end tests on a machine whose PID 1 is not systemd.
 *
 * Recipe, worked out on Debian 12 / systemd 252 running as root:
 *  - systemctl refuses ("offline" / "System has not been booted with systemd") unless /run/systemd/system
 *    exists, so the manager lives in a private mount namespace where a temp dir holding an empty
 *    `system/` is bind-mounted over /run/systemd. Nothing leaks to the host; the mount dies with the namespace.
 *  - Before exec'ing systemd the launcher moves itself into a fresh cgroup of its own. Without that, a
 *    manager that finds itself in the root cgroup treats the root as *its* tree and migrates every process
 *    on the machine (PID 1 and other sessions included) into `/init.scope`. On a hybrid host it tracks
 *    processes in the cgroup2 hierarchy, so that is the one that matters; name=systemd is fenced too.
 *  - HOME, XDG_CONFIG_HOME and XDG_RUNTIME_DIR are temp dirs, so unit files go to
 *    `<home>/.config/systemd/user/` and the control socket to `<runtimeDir>/systemd/private`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

export interface UserManager {
  pid: number;
  runtimeDir: string;
  home: string;
  /** `<home>/.config/systemd/user`: drop unit files here, then `systemctl --user daemon-reload`. */
  unitDir: string;
  /** The manager's own cgroup dirs (cgroup2 first); units live in `<dir>/app.slice/<unit>`. */
  cgroupDirs: string[];
  /** Milliseconds from spawn until `is-system-running` answered running/degraded. */
  startupMs: number;
  /** Env for callers who spawn systemctl themselves: process.env plus HOME/XDG_* pointing at the manager. */
  env: NodeJS.ProcessEnv;
  /** Run a command inside the manager's namespace with its env. Never rejects for a non-zero exit. */
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * argv that runs `cmd` inside the namespace. The manager's HOME/XDG_* are pinned via `env`, so the
   * result works whatever environment the caller spawns it with.
   */
  wrap(cmd: string, args: string[]): { cmd: string; args: string[] };
  /** `systemctl --user show -p ...` parsed into a record (systemd prints properties in its own order). */
  show(unit: string, props: string[]): Promise<Record<string, string>>;
  /** Stop the manager and everything it started, remove its cgroups and temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const SYSTEMD_BINARIES = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'];
const REQUIRED_TOOLS = ['unshare', 'nsenter', 'mount', 'systemctl'];

/** Why the harness cannot run here, or undefined if it can. Cheap and synchronous, for skipIf. */
export function systemdUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `platform is ${process.platform}, not linux`;
  if (process.getuid?.() !== 0) return 'not running as root (needs a mount namespace and cgroupfs writes)';
  if (!systemdBinary()) return `no systemd binary at ${SYSTEMD_BINARIES.join(' or ')}`;
  for (const tool of REQUIRED_TOOLS) if (!onPath(tool)) return `${tool} not found on PATH`;
  if (!existsSync('/run/systemd')) return '/run/systemd does not exist, nothing to bind-mount over';
  let parents: string[];
  try {
    parents = trackedHierarchies().map((h) => h.dir);
  } catch (err) {
    return `cannot read the cgroup layout: ${(err as Error).message}`;
  }
  if (parents.length === 0) return 'neither a cgroup2 nor a name=systemd hierarchy is mounted';
  for (const dir of parents) {
    try {
      accessSync(dir, fsConstants.W_OK);
    } catch {
      // Refuse rather than run unfenced: an unfenced manager re-parents every process on the host.
      return `${dir} is not writable, so the manager cannot be fenced into its own cgroup`;
    }
  }
  return undefined;
}

/** True unless the process is gone or a zombie (PID 1 here does not reap orphans). */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // comm may contain spaces and parens; the state is the field after the last ')'.
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state !== 'Z' && state !== 'X';
}

/**
 * `baseDir` (default the temp dir) holds the manager's HOME and XDG_RUNTIME_DIR: a unit with
 * PrivateTmp= cannot reach a control socket under /tmp, as it cannot on a real host's /run/user.
 */
export async function startUserManager(opts: { readyTimeoutMs?: number; baseDir?: string } = {}): Promise<UserManager> {
  const reason = systemdUnavailableReason();
  if (reason) throw new Error(`cannot start systemd --user: ${reason}`);
  const started = performance.now();

  const root = mkdtempSync(join(opts.baseDir ?? tmpdir(), 'ar-systemd-user-'));
  const runtimeDir = join(root, 'xdg');
  mkdirSync(runtimeDir, { mode: 0o700 });
  const fakeRunSystemd = join(root, 'run-systemd');
  mkdirSync(join(fakeRunSystemd, 'system'), { recursive: true });
  const home = join(root, 'home');
  const unitDir = join(home, '.config', 'systemd', 'user');
  mkdirSync(unitDir, { recursive: true });

  // Unique per manager, so two e2e files running at once never share a tree.
  const leaf = `agent-runner-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hierarchies = trackedHierarchies();
  const cgroupDirs = hierarchies.map((h) => join(h.dir, leaf));
  for (const dir of cgroupDirs) mkdirSync(dir);

  const pinned: Record<string, string> = {
    HOME: home,
    XDG_RUNTIME_DIR: runtimeDir,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    // systemctl --user talks to <runtimeDir>/systemd/private directly; this only keeps a host session
    // bus address from leaking into tools (busctl --user) that do use D-Bus.
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(runtimeDir, 'bus')}`,
  };
  // The user manager copies its own environment into every unit, so keep it small and predictable.
  const managerEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    USER: 'root',
    LOGNAME: 'root',
    ...pinned,
  };
  const env: NodeJS.ProcessEnv = { ...process.env, ...pinned };

  // The cgroup move must happen in the very process that becomes systemd, before it starts: hence $$
  // in a shell that then execs unshare, which execs a second shell (inside the namespace) that execs systemd.
  const launcher = [
    'run=$1 bin=$2; shift 2',
    'for cg in "$@"; do echo $$ > "$cg/cgroup.procs" || exit 97; done',
    `exec unshare --mount --propagation private sh -c 'mount --bind "$1" /run/systemd && exec "$2" --user --log-target=console' sh "$run" "$bin"`,
  ].join('\n');
  const child = spawn(
    'sh',
    ['-c', launcher, 'sh', fakeRunSystemd, systemdBinary() as string, ...cgroupDirs],
    { env: managerEnv, cwd: home, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-16_000);
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  if (child.pid === undefined) throw new Error('failed to spawn the systemd --user launcher');
  const pid = child.pid;

  let mntNs: string | undefined; // eslint-disable-line prefer-const -- assigned once the namespace exists
  const argv = (cmd: string, args: string[], vars: Record<string, string>) => ({
    cmd: 'nsenter',
    args: [
      '--mount',
      `--target=${pid}`,
      '--',
      'env',
      ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
      cmd,
      ...args,
    ],
  });
  const wrap = (cmd: string, args: string[]) => argv(cmd, args, pinned);
  const run = (cmd: string, args: string[], o: RunOptions = {}): Promise<RunResult> => {
    const merged = { ...env, ...o.env };
    const vars = Object.fromEntries(
      Object.keys(pinned).flatMap((k) => (merged[k] === undefined ? [] : [[k, merged[k] as string]])),
    );
    const w = argv(cmd, args, vars);
    return capture(w.cmd, w.args, { env: merged, cwd: o.cwd, timeoutMs: o.timeoutMs ?? 30_000 });
  };
  const show = async (unit: string, props: string[]) => {
    const r = await run('systemctl', ['--user', 'show', '-p', props.join(','), unit]);
    if (r.exitCode !== 0) throw new Error(`systemctl --user show ${unit} failed: ${r.stderr.trim()}`);
    return Object.fromEntries(
      r.stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  };

  // Everything the manager (or a caller via wrap/run) started: its cgroup tree plus its mount namespace.
  const survivors = (): number[] => {
    const pids = new Set<number>();
    for (const dir of cgroupDirs) for (const p of cgroupProcs(dir)) pids.add(p);
    if (mntNs) for (const p of procsInMountNs(mntNs)) pids.add(p);
    pids.delete(process.pid);
    return [...pids].filter(isAlive);
  };
  // Last resort if a test run exits without calling stop(): 'exit' handlers must be synchronous, so
  // kill, then block briefly while the kernel empties the cgroups, then remove what we can.
  const killSurvivorsSync = () => {
    for (const p of survivors()) tryKill(p, 'SIGKILL');
    const until = Date.now() + 1_000;
    while (!cgroupDirs.every(removeTree) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killSurvivorsSync);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.removeListener('exit', killSurvivorsSync);
      // For a user manager SIGTERM means "start exit.target" (== systemctl --user exit): units are
      // stopped with their own KillMode first. It needs no working socket, unlike systemctl.
      if (!hasExited) tryKill(pid, 'SIGTERM');
      await Promise.race([exited, sleep(5_000, undefined, { ref: false })]); // unref: don't hold the loop open
      // Leftovers: KillMode=process children, units still inside a long TimeoutStopSec, wrap() spawns.
      const deadline = Date.now() + 10_000;
      for (let left = survivors(); left.length > 0; left = survivors()) {
        if (Date.now() > deadline) throw new Error(`processes survived SIGKILL: ${left.join(' ')}`);
        for (const p of left) tryKill(p, 'SIGKILL');
        await sleep(20);
      }
      await exited; // we are its parent, so it is reaped, not left as a zombie
      // Processes leave their cgroup asynchronously after SIGKILL: retry rmdir until it sticks.
      for (const dir of cgroupDirs) {
        while (!removeTree(dir)) {
          if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${dir}`);
          await sleep(20);
        }
      }
      rmSync(root, { recursive: true, force: true });
    })());

  // Readiness: the private socket appears before the boot transaction is done, so ask the manager.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 15_000);
  let last: string;
  for (;;) {
    if (hasExited) {
      await stop();
      throw new Error(`systemd --user exited during startup (code ${child.exitCode}): ${log}`);
    }
    const r = await run('systemctl', ['--user', 'is-system-running'], { timeoutMs: 5_000 });
    last = `${r.stdout.trim()} ${r.stderr.trim()}`.trim();
    if (/^(running|degraded)\b/.test(r.stdout.trim())) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`systemd --user not ready after ${opts.readyTimeoutMs ?? 15_000}ms (last: ${last}): ${log}`);
    }
    await sleep(20);
  }
  const startupMs = performance.now() - started;

  mntNs = readlinkSync(`/proc/${pid}/ns/mnt`);
  // Belt and braces for the fence: a manager outside its own cgroup would have re-parented the host.
  const where = cgroupPaths(pid, hierarchies);
  if (!where.every((p) => p?.includes(`/${leaf}/`))) {
    await stop();
    throw new Error(`systemd --user escaped its cgroup ${leaf}: it is in ${where.join(', ')}`);
  }

  return { pid, runtimeDir, home, unitDir, cgroupDirs, startupMs, env, run, wrap, show, stop };
}

function systemdBinary(): string | undefined {
  return SYSTEMD_BINARIES.find((p) => isExecutable(p));
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && isExecutable(join(dir, tool)));
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface Hierarchy {
  /** Our own cgroup's directory in this hierarchy; the manager's cgroup is created below it. */
  dir: string;
  /** The controllers field of this hierarchy's line in /proc/PID/cgroup ('' for cgroup2). */
  controllers: string;
}

/**
 * The hierarchies systemd tracks processes in: cgroup2 (unified, or hybrid's /sys/fs/cgroup/unified,
 * which is the one systemd 252 uses on a hybrid host) and the legacy name=systemd one.
 */
function trackedHierarchies(): Hierarchy[] {
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const found: Hierarchy[] = [];
  const add = (controllers: string, match: (fstype: string, superOpts: string) => boolean) => {
    const line = own.find((l) => l.split(':')[1] === controllers && (controllers !== '' || l.startsWith('0::')));
    if (line === undefined) return;
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    for (const m of mounts) {
      const [left, right] = m.split(' - ');
      if (!left || !right) continue;
      const [fstype = '', , superOpts = ''] = right.split(' ');
      if (!match(fstype, superOpts)) continue;
      const [, , , mountRoot = '/', mountPoint = ''] = left.split(' ');
      // A mount may expose only a sub-tree of the hierarchy (containers): map our path into it.
      if (!path.startsWith(mountRoot)) continue;
      found.push({ dir: join(mountPoint, path.slice(mountRoot === '/' ? 0 : mountRoot.length)), controllers });
      return;
    }
  };
  add('', (t) => t === 'cgroup2');
  add('name=systemd', (t, o) => t === 'cgroup' && o.split(',').includes('name=systemd'));
  return found;
}

/** The paths of a process in the given hierarchies, as /proc/PID/cgroup lists them. */
function cgroupPaths(pid: number, hierarchies: Hierarchy[]): (string | undefined)[] {
  let lines: string[] = [];
  try {
    lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  } catch {
    /* gone */
  }
  return hierarchies.map((h) => {
    const line = lines.find((l) => l.split(':')[1] === h.controllers && (h.controllers !== '' || l.startsWith('0::')));
    return line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
  });
}

function cgroupProcs(dir: string): number[] {
  const pids: number[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return pids;
  }
  try {
    for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.push(Number(l));
  } catch {
    /* removed meanwhile */
  }
  for (const e of entries) if (e.isDirectory()) pids.push(...cgroupProcs(join(dir, e.name)));
  return pids;
}

function procsInMountNs(ns: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/mnt`) === ns) pids.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return pids;
}

/** rmdir a cgroup tree leaves first; false while some cgroup is still populated. */
function removeTree(dir: string): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return true; // already gone
  }
  let ok = true;
  for (const e of entries) if (e.isDirectory()) ok = removeTree(join(dir, e.name)) && ok;
  if (!ok) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

function capture(
  cmd: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(cmd, args, {
      env: o.env,
      cwd: o.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: o.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => resolve({ exitCode: 127, stdout, stderr: stderr + String(err) }));
    child.once('close', (code, signal) =>
      resolve({
        exitCode: code ?? 128 + (signal ? osConstants.signals[signal] : 0),
        stdout,
        stderr,
      }),
    );
  });
}
