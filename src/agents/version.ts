import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { readStat } from '../proc/procfs.js';
import { terminateRound, type RoundIdentity } from '../round/process-group.js';
import { sleep } from '../util/sleep.js';

/** What `<agent> --version` said, or why it said nothing. */
export type VersionProbeResult =
  | { kind: 'ok'; version: string }
  | { kind: 'failed'; exitCode: number | null; signal: string | null; detail: string }
  | { kind: 'timeout'; timeoutS: number; killed: number };

const MARKER_VAR = 'AGENT_RUNNER_VERSION_PROBE';

/**
 * Runs `<bin> --version` in its own process group, marked like a round, and kills that whole tree
 * when it does not answer in time. execFile's timeout only signals the direct child: a CLI
 * wrapper script whose node process hangs kept the pipe open, the call waited on, and the hung
 * process outlived `doctor`.
 */
export async function probeAgentVersion(bin: string, env: NodeJS.ProcessEnv, opts: { timeoutMs: number; graceMs: number }): Promise<VersionProbeResult> {
  const marker = randomUUID();
  const child = spawn(bin, ['--version'], { env: { ...env, [MARKER_VAR]: marker }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const id: RoundIdentity = { pgid: child.pid ?? -1, marker: `${MARKER_VAR}=${marker}` };
  const st = child.pid ? readStat(child.pid) : undefined;
  if (st) id.minStart = st.starttime;
  let out = '';
  const take = (d: Buffer) => {
    if (out.length < 4096) out += d.toString('utf8');
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  // The leader's exit decides, never stdio EOF: a leftover grandchild may hold the pipes.
  const ended = await new Promise<{ code: number | null; signal: string | null; error?: string } | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, error: e.message });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  // Whatever the probe left behind (a hung leader, a daemon it forked) is ours to end.
  const swept = id.pgid > 1 ? await terminateRound(id, opts.graceMs) : { killed: 0 };
  // With every holder gone the pipes reach EOF; the cap only guards against a holder we could not see.
  const cap = new AbortController();
  await Promise.race([
    Promise.all([finished(child.stdout).catch(() => {}), finished(child.stderr).catch(() => {})]),
    sleep(2000, cap.signal),
  ]);
  cap.abort();
  child.stdout.destroy();
  child.stderr.destroy();
  if (ended === 'timeout') return { kind: 'timeout', timeoutS: Math.round(opts.timeoutMs / 100) / 10, killed: swept.killed };
  const first = out.trim().split('\n')[0]?.slice(0, 200) ?? '';
  if (ended.code === 0 && first) return { kind: 'ok', version: first };
  return { kind: 'failed', exitCode: ended.code, signal: ended.signal, detail: ended.error ?? (first || 'no output') };
}

