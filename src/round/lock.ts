import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { stateFiles } from '../state/files.js';
import { LockHeldError, type LockHolder } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { isAlive, readCmdline, readStat } from '../proc/procfs.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { which } from '../util/exec.js';
import { isoNow } from '../util/time.js';

/**
 * One supervisor per project. Node has no flock(2), so a util-linux `flock(1)` helper holds a
 * real kernel lock on `agent-runner.lock` for as long as our stdin pipe to it stays open:
 *  - the kernel frees it when we die, even by SIGKILL (the pipe closes, the helper exits), so a
 *    crash can never leave a lock that blocks the next start;
 *  - it interoperates with anyone else who flocks the same file;
 *  - the helper runs in its own process group, so a terminal's Ctrl-C cannot kill it and free the
 *    lock while we are still cleaning up.
 * The holder sidecar only feeds messages and stale-holder detection; it is never the truth.
 * Where flock(1) is missing (macOS), an O_EXCL holder file with pid + start-time checks is used.
 */
export interface Lock {
  readonly path: string;
  /** pids of the helper processes (excluded from cgroup sweeps). */
  readonly helperPids: number[];
  /** Set when a previous holder had died without releasing its sidecar. */
  readonly staleHolder?: { holder: LockHolder; reason: 'holder_dead' | 'pid_reused' };
  release(): Promise<void>;
}

const CONFLICT = EXIT.LOCK_HELD;

export async function acquireLock(logDir: string): Promise<Lock> {
  const { lock: path, lockHolder: holderPath } = stateFiles(logDir);
  // Created by us (0600) rather than by flock(1) with the umask's mode.
  closeSync(openSync(path, 'a', 0o600));
  const flock = which('flock');
  const helper = flock ? await flockHelper(flock, path, holderPath) : exclusiveFile(path, holderPath);

  const previous = readHolder(holderPath);
  let staleHolder: Lock['staleHolder'];
  if (previous && previous.pid !== process.pid) {
    const reused = previous.start_time !== undefined && isAlive(previous.pid) && !isAlive(previous.pid, previous.start_time);
    staleHolder = { holder: previous, reason: reused ? 'pid_reused' : 'holder_dead' };
  }
  const me = readStat(process.pid);
  const holder: LockHolder = {
    pid: process.pid,
    started_at: isoNow(),
    cmdline: readCmdline(process.pid).join(' ').slice(0, 120) || process.argv.join(' ').slice(0, 120),
    ...(me ? { start_time: me.starttime } : {}),
  };
  try {
    writeJsonAtomic(holderPath, holder);
  } catch (err) {
    // Without this the helper would hold the lock, and keep this process alive, forever.
    await helper.release();
    throw err;
  }

  return {
    path,
    helperPids: helper.pids,
    ...(staleHolder ? { staleHolder } : {}),
    async release() {
      try {
        unlinkSync(holderPath);
      } catch {
        /* already gone */
      }
      await helper.release();
    },
  };
}

export function readHolder(holderPath: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(holderPath, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

interface Helper {
  pids: number[];
  release(): Promise<void>;
}

function flockHelper(flock: string, path: string, holderPath: string): Promise<Helper> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      flock,
      ['--nonblock', '--conflict-exit-code', String(CONFLICT), path, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
      { stdio: ['pipe', 'pipe', 'ignore'], detached: true },
    );
    let settled = false;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.once('error', (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    child.once('exit', (code) => {
      if (settled) return;
      settled = true;
      if (code === CONFLICT) reject(new LockHeldError(path, readHolder(holderPath)));
      else reject(new Error(`flock helper exited with ${code} before taking ${path}`));
    });
    child.stdout!.once('data', () => {
      if (settled) return;
      settled = true;
      child.stdout!.destroy();
      const pids = [child.pid!];
      resolve({
        get pids() {
          // flock forks `sh`, which execs `cat`: exclude both from sweeps.
          return [...pids, ...childPidsOf(child.pid!)];
        },
        async release() {
          child.stdin!.end();
          await exited;
        },
      });
    });
  });
}

function childPidsOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Fallback where flock(1) is not installed: an O_EXCL file whose dead holder may be replaced. */
function exclusiveFile(path: string, holderPath: string): Helper {
  const excl = `${path}.excl`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(excl, 'wx', 0o644);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        pids: [],
        async release() {
          try {
            unlinkSync(excl);
          } catch {
            /* gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(holderPath);
      const pid = Number(readFileSync(excl, 'utf8'));
      if (isAlive(pid, holder?.pid === pid ? holder.start_time : undefined)) throw new LockHeldError(path, holder);
      unlinkSync(excl);
    }
  }
  throw new LockHeldError(path, readHolder(holderPath));
}
