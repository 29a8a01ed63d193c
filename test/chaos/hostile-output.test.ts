// Agents that flood, never end a line, print binary, or close their output and keep running.
// The round log obeys its cap, the supervisor's memory stays bounded (peak reported), and the
// operator's views still work afterwards.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { finish, makeProject, readEvents, runCli, startCli, survivorsOf, type Project, type ProjectOptions } from '../helpers/project.js';

const projects: Project[] = [];
const peaks: string[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});
afterAll(() => console.log(`hostile output, supervisor peak RSS: ${peaks.join('; ')}`));

const CAP = 8 * 1024 * 1024;

/** Run one round, sampling the supervisor's peak RSS (VmHWM) until it exits. */
async function roundWithPeak(opts: ProjectOptions): Promise<{ p: Project; code: number | null; peakMb: number; logBytes: number; log: string }> {
  const p = makeProject({ ...opts, runtime: { round_log_max_bytes: CAP, ...opts.runtime } });
  projects.push(p);
  const child = startCli(['round', '--config', p.config], { cwd: p.dir });
  let peakKb = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 20);
  const r = await finish(child, 120_000);
  clearInterval(sampler);
  const rounds = join(p.logDir, 'rounds');
  const log = join(rounds, readdirSync(rounds)[0]!);
  return { p, code: r.code, peakMb: Math.round(peakKb / 1024), logBytes: statSync(log).size, log };
}

async function viewsStillWork(p: Project): Promise<void> {
  const peek = await runCli(['peek', '--json', '--config', p.config], { cwd: p.dir });
  expect(peek.code, peek.stderr).toBe(0);
  expect(() => JSON.parse(peek.stdout)).not.toThrow();
  for (const e of readEvents(p.logDir)) expect(typeof e.event).toBe('string');
  const mon = await runCli(['monitor', '--once', '--json', '--config', p.config], { cwd: p.dir });
  expect([0, 1, 2], mon.stderr).toContain(mon.code);
  const lines = mon.stdout.trim().split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'state', exit_code: mon.code });
}

it('2 GB on stdout: the log stays under its cap, memory stays bounded', async () => {
  const r = await roundWithPeak({ mode: 'yes:2000000000' });
  peaks.push(`2 GB flood ${r.peakMb} MB`);
  expect(r.code).toBe(0);
  expect(r.logBytes).toBeLessThanOrEqual(CAP + 4096);
  expect(readFileSync(r.log, 'utf8')).toContain('bytes elided');
  expect(readEvents(r.p.logDir).some((e) => e.event === 'round_log_truncated')).toBe(true);
  expect(r.peakMb).toBeLessThan(200);
  await viewsStillWork(r.p);
}, 180_000);

it('a single 200 MB line without a newline: capped, and never held in memory', async () => {
  const r = await roundWithPeak({ mode: 'longline:200000000' });
  peaks.push(`200 MB line ${r.peakMb} MB`);
  expect(r.code).toBe(0);
  expect(r.logBytes).toBeLessThanOrEqual(CAP + 4096);
  expect(r.peakMb).toBeLessThan(200);
  await viewsStillWork(r.p);
}, 120_000);

it('binary, non-UTF-8 output: recorded as is, nothing breaks', async () => {
  const r = await roundWithPeak({ mode: 'binary;;json:{"type":"result","subtype":"success","is_error":false,"result":"ok"}' });
  expect(r.code).toBe(0);
  expect(readEvents(r.p.logDir).find((e) => e.event === 'agent_exit')).toMatchObject({ outcome: 'clean' });
  await viewsStillWork(r.p);
});

it('an agent that closes stdout and stderr but keeps running is still bounded by the timeout', async () => {
  const r = await roundWithPeak({ mode: 'close_stdout', runtime: { round_timeout_s: 2 } });
  expect(r.code).toBe(11);
  expect(survivorsOf(r.p.testId)).toEqual([]);
  await viewsStillWork(r.p);
});
