import { readdirSync, readFileSync } from 'node:fs';

/**
 * The few facts we need about processes, read straight from /proc (no subprocess, ~15 µs per
 * process). Linux only; on other platforms every lookup answers "unknown" and callers fall back
 * to process-group signals.
 */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Start time in clock ticks since boot: with the pid, a unique process identity. */
  starttime: number;
  /** CPU ticks used, including waited-for children: growth means the process is working. */
  cpu: number;
}

export const hasProcfs = process.platform === 'linux';

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: split after the LAST ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  return {
    pid,
    comm,
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    session: Number(f[3]),
    starttime: Number(f[19]),
    cpu: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
  };
}

/**
 * Alive means present and not a zombie. PID 1 may not reap orphans (containers, some sandboxes),
 * so a killed orphan can linger as `Z` and kill(pid, 0) would still succeed.
 */
export function isAlive(pid: number, starttime?: number): boolean {
  if (!hasProcfs) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return starttime === undefined || st.starttime === starttime;
}

export function listPids(): number[] {
  if (!hasProcfs) return [];
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

export function listProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (st) out.push(st);
  }
  return out;
}

export function readCmdline(pid: number): string[] {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1);
  } catch {
    return [];
  }
}

/**
 * Whether `/proc/PID/environ` contains exactly `NAME=value`: 'unknown' when it reads empty, which
 * is what a process shows for an instant inside execve (the new image's environment is not mapped
 * yet) — exactly when a daemon that just left the session with setsid(1) execs its program.
 */
export function environMarker(pid: number, entry: string): 'yes' | 'no' | 'unknown' {
  let raw: Buffer;
  try {
    raw = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return 'no';
  }
  if (raw.length === 0) return 'unknown';
  return raw.toString('latin1').split('\0').includes(entry) ? 'yes' : 'no';
}

/** True when `/proc/PID/environ` contains exactly `NAME=value`. Unreadable → false. */
export function environHas(pid: number, entry: string): boolean {
  return environMarker(pid, entry) === 'yes';
}

/** Kernel threads (kthreadd and its children) have no environment and belong to no round. */
const isKernelThread = (st: ProcStat) => st.pid === 2 || st.ppid === 2;

/** How often, 1 ms apart, an empty environment is read again before it is taken as truly empty. */
const EMPTY_ENVIRON_RETRIES = 20;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Live (non-zombie) processes of a round: same process group, same session, or carrying its marker. */
export function findRoundProcesses(opts: { pgid?: number; marker?: string; excludePids?: Set<number>; minStart?: number }): ProcStat[] {
  const out: ProcStat[] = [];
  let unsure: ProcStat[] = [];
  for (const st of listProcesses()) {
    if (st.state === 'Z' || st.state === 'X') continue;
    if (opts.excludePids?.has(st.pid) || st.pid === process.pid) continue;
    const inGroup = opts.pgid !== undefined && (st.pgrp === opts.pgid || st.session === opts.pgid);
    if (inGroup) {
      out.push(st);
      continue;
    }
    // A descendant cannot predate the round: only younger processes can carry its marker, which
    // spares reading the environment of everything else on the host.
    if (opts.marker === undefined || (opts.minStart !== undefined && st.starttime < opts.minStart)) continue;
    const seen = environMarker(st.pid, opts.marker);
    if (seen === 'yes') out.push(st);
    else if (seen === 'unknown' && !isKernelThread(st)) unsure.push(st);
  }
  // A sweep that misses a daemon caught mid-exec would let it outlive the round: look again, briefly.
  for (let i = 0; i < EMPTY_ENVIRON_RETRIES && unsure.length > 0; i++) {
    Atomics.wait(pause, 0, 0, 1);
    unsure = unsure.filter((st) => {
      const seen = environMarker(st.pid, opts.marker!);
      if (seen === 'yes') out.push(st);
      return seen === 'unknown';
    });
  }
  return out;
}

/** Descendants of `root` (not including it), by walking ppid links. */
export function descendantsOf(root: number, all: ProcStat[] = listProcesses()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const st of all) {
    const list = byParent.get(st.ppid);
    if (list) list.push(st);
    else byParent.set(st.ppid, [st]);
  }
  const out: ProcStat[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    for (const child of byParent.get(pid) ?? []) {
      out.push(child);
      stack.push(child.pid);
    }
  }
  return out;
}

/** Seconds since boot → epoch ms, for a process start time. */
let bootMs: number | undefined;
export function processStartEpochMs(starttime: number): number | undefined {
  if (!hasProcfs) return undefined;
  if (bootMs === undefined) {
    const m = /btime (\d+)/.exec(readFileSync('/proc/stat', 'latin1'));
    if (!m) return undefined;
    bootMs = Number(m[1]) * 1000;
  }
  // USER_HZ is 100 on every Linux ABI Node supports.
  return bootMs + starttime * 10;
}
