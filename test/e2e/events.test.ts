import { appendFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finish, makeProject, runCli, startCli, waitFor, type Project } from '../helpers/project.js';

const projects: Project[] = [];
function project(mode = 'ok'): Project {
  const p = makeProject({ mode });
  projects.push(p);
  return p;
}
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const events = (p: Project, ...args: string[]) => runCli(['events', '--config', p.config, ...args], { cwd: p.dir });
const lines = (s: string) => s.split('\n').filter(Boolean);
const currentFile = (p: Project) => join(p.logDir, readdirSync(p.logDir).filter((n) => /^events-.*\.jsonl$/.test(n)).sort().at(-1)!);

describe('events', () => {
  it('prints the newest matching lines exactly as stored, across kinds and windows', async () => {
    const p = project();
    for (let i = 0; i < 3; i++) await round(p);
    const stored = readFileSync(currentFile(p), 'utf8').split('\n').filter(Boolean);
    const all = await events(p);
    expect(all.code).toBe(0);
    expect(lines(all.stdout)).toEqual(stored.slice(-10));
    const exits = await events(p, '--kind', 'agent_exit,round_end', '--window', '3');
    expect(lines(exits.stdout).map((l) => [JSON.parse(l).event, JSON.parse(l).round_num])).toEqual([['round_end', 2], ['agent_exit', 3], ['round_end', 3]]);
    // Byte-for-byte what the supervisor wrote (upstream's separators included).
    expect(lines(exits.stdout).every((l) => stored.includes(l))).toBe(true);
  });

  it('--since takes an ISO time, epoch seconds or an age', async () => {
    const p = project();
    await round(p);
    const cut = new Date(Date.now() + 5).toISOString();
    await waitFor(() => Date.now() > Date.parse(cut) + 5, 'clock past the cut');
    await round(p);
    const since = await events(p, '--kind', 'round_start', '--since', cut);
    expect(lines(since.stdout).map((l) => JSON.parse(l).round_num)).toEqual([2]);
    expect(lines((await events(p, '--kind', 'round_start', '--since', '1h')).stdout)).toHaveLength(2);
    expect(lines((await events(p, '--kind', 'round_start', '--since', String(Math.floor(Date.now() / 1000) + 3600))).stdout)).toHaveLength(0);
  });

  it('bad arguments: one line, exit 2', async () => {
    const p = project();
    for (const args of [['--kind', ''], ['--kind', 'agent_exit,'], ['--window', '3', '--tail'], ['--since', 'yesterday-ish'], ['--window', '-1']]) {
      const r = await events(p, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    const typo = await events(p, '--kind', 'agent_exti');
    expect(typo.code).toBe(0);
    expect(typo.stderr).toContain('did you mean "agent_exit"');
  });

  it('--tail follows new rounds, a new monthly file, a late write to the old one and a truncation: every line once', async () => {
    const p = project();
    await round(p);
    const old = currentFile(p);
    const before = readFileSync(old, 'utf8');
    const tail = startCli(['events', '--tail', '--config', p.config], { cwd: p.dir });
    const done = finish(tail);
    let out = '';
    tail.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    // Ready once a marker appended after its start comes through; history is not replayed.
    let marks = 0;
    await waitFor(() => {
      if (out.includes('"mark"')) return true;
      appendFileSync(old, `{"ts": "${new Date().toISOString()}", "event": "serve_waiting", "mark": ${++marks}}\n`);
      return false;
    }, 'the follower to start', 15_000, 100);
    expect(lines(out).every((l) => JSON.parse(l).mark !== undefined)).toBe(true);

    await round(p); // real lines
    await waitFor(() => lines(out).length >= 4, 'the second round\'s events');
    const [y, m] = old.match(/events-(\d{4})-(\d{2})\.jsonl$/)!.slice(1).map(Number) as [number, number];
    const next = join(p.logDir, `events-${m === 12 ? y + 1 : y}-${String(m === 12 ? 1 : m + 1).padStart(2, '0')}.jsonl`);
    const line = (n: number) => `{"ts": "${new Date().toISOString()}", "event": "serve_waiting", "reason": "restart_delay", "seq": ${n}}\n`;
    appendFileSync(next, line(1)); // the month turned
    appendFileSync(old, line(2)); // a writer that still had the old month
    appendFileSync(next, line(3));
    // Half a line, completed later: printed once, whole.
    appendFileSync(next, line(4).slice(0, 20));
    await waitFor(() => out.includes('"seq": 3'), 'lines of both months');
    appendFileSync(next, line(4).slice(20));
    await waitFor(() => out.includes('"seq": 4'), 'the completed line');
    // A truncated file is read again from its start.
    truncateSync(next, 0);
    writeFileSync(next, line(5));
    await waitFor(() => out.includes('"seq": 5'), 'after truncation');

    tail.kill('SIGINT');
    expect((await done).code).toBe(0);
    const seqs = lines(out).map((l) => JSON.parse(l)).filter((e) => e.seq).map((e) => e.seq).sort();
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    const rounds = lines(out).map((l) => JSON.parse(l)).filter((e) => e.round_num !== undefined);
    expect(rounds.every((e) => e.round_num === 2)).toBe(true);
    expect(rounds.map((e) => e.event)).toEqual(['round_start', 'agent_spawn', 'agent_exit', 'round_end']);
    expect(lines(out).some((l) => before.includes(l))).toBe(false);
  });
});
