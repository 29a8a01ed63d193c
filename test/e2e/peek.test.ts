import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLI, finish, readEvents, readJson, recordedPids, runCli, startCli, waitFor,
  type Project, useProjects,
} from '../helpers/project.js';

const { project, track } = useProjects();

const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const peek = (p: Project, ...args: string[]) => runCli(['peek', '--config', p.config, ...args], { cwd: p.dir });
// The document is asserted field by field below; a loose type keeps those assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;
async function peekJson(p: Project, ...args: string[]): Promise<Doc> {
  const r = await peek(p, '--json', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Doc;
}
const setMode = (p: Project, mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));
const running = (p: Project): boolean => {
  try {
    return readJson(join(p.logDir, 'status.json'))['running'] === true;
  } catch {
    return false;
  }
};
const TOOL = (n: number) => `json:{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t${n}","name":"Bash","input":{"command":"ls"}}]}}`;

describe('peek: the ProjectState document', () => {
  it('keeps upstream\'s keys and adds what upstream never filled', async () => {
    const p = project({ mode: 'ok' });
    await round(p);
    const asked = Date.now();
    const s = await peekJson(p);
    for (const k of ['schema_version', 'plugins', 'project', 'status', 'defenses', 'current_round', 'recent_rounds', 'orphan', 'system', 'service', 'recent_events', 'recent_hook_failures', 'recent_blips'])
      expect(s, k).toHaveProperty(k);
    for (const k of ['halt', 'wait', 'serve', 'monitor']) expect(s, k).toHaveProperty(k);
    expect(s['status']).toMatchObject({ round_num: 1, running: false, last_outcome: 'clean' });
    expect(s['defenses'].length).toBeGreaterThan(5);
    expect(s['defenses'][0]).toEqual(expect.objectContaining({ name: expect.any(String), guarded_by: expect.any(String), current_state: expect.any(String) }));
    // Host figures sampled now, for both configured filesystems.
    expect(s['system']).toMatchObject({ mem_total_mb: expect.any(Number), mem_available_mb: expect.any(Number), disk_used_pct: expect.any(Number), load_1m: expect.any(Number) });
    expect(Date.parse(s['system']['sampled_at'])).toBeGreaterThanOrEqual(Math.floor(asked / 1000) * 1000);
    expect(s['system']['disks'][0]['label']).toContain('log_dir');
    expect(s['service']).toMatchObject({ mode: 'none', active: false, rate_limit: null });
  });

  it('shows the live round: agent pid, phase, elapsed, log size, seconds since output, tool calls so far', async () => {
    const p = project({ mode: `${TOOL(1)};;${TOOL(2)};;${TOOL(3)};;child;;setsid;;sleep:60`, runtime: { round_timeout_s: 120 } });
    const r = startCli(['round', '--config', p.config], { cwd: p.dir });
    track(r);
    const done = finish(r);
    await waitFor(() => running(p) && recordedPids(p).length >= 3, 'agent running with a child and an escaped grandchild');
    const s = await peekJson(p);
    const c = s['current_round'];
    expect(c).toMatchObject({ round_num: 1, running: true, pid: recordedPids(p)[0], agent_alive: true, supervisor: 'alive', tool_calls: 3, tool_calls_source: 'log', timeout_s: 120 });
    expect(c['log_size_bytes']).toBeGreaterThan(100);
    expect(c['seconds_since_output']).toBeGreaterThanOrEqual(0);
    expect(c['duration_so_far_s']).toBeGreaterThanOrEqual(0);
    // The setsid'd grandchild left the process group; it still counts (it carries the round's marker).
    expect(s['system']['agent_process_count']).toBeGreaterThanOrEqual(4);
    expect(s['recent_rounds'][0]).toMatchObject({ round_num: 1, outcome: null, ended_at: null });
    r.kill('SIGTERM');
    expect((await done).code).toBe(143);
    expect((await peekJson(p))['current_round']).toBe(null);
  });

  it('lists the last 10 rounds, newest first, with outcome and duration', async () => {
    const p = project({ mode: 'ok' });
    for (let i = 1; i <= 12; i++) {
      setMode(p, i % 3 === 0 ? 'exit:1' : 'ok');
      await round(p);
    }
    const s = await peekJson(p, '--events', '5');
    const rounds = s['recent_rounds'] as Array<Record<string, unknown>>;
    expect(rounds.map((x) => x['round_num'])).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(rounds.map((x) => x['outcome'])).toEqual(['error', 'clean', 'clean', 'error', 'clean', 'clean', 'error', 'clean', 'clean', 'error']);
    for (const x of rounds) expect(typeof x['duration_s']).toBe('number');
    expect(s['recent_events']).toHaveLength(5);
    expect(s['recent_events'].at(-1)).toMatchObject({ event: 'round_end', round_num: 12 });
  });

  it('--round N|latest with --log: the round\'s view and the tail of its agent log', async () => {
    const p = project({ mode: 'text:first round says hello' });
    await round(p);
    setMode(p, 'text:second round says bye;;exit:1');
    await round(p);
    const latest = (await peekJson(p, '--round', 'latest', '--log'))['current_round'];
    expect(latest).toMatchObject({ round_num: 2, running: false, exit_code: 1, outcome: 'error' });
    expect(latest['log_tail']).toContain('second round says bye');
    // setMode edited the config between the rounds: that uncommitted edit is the user's, so it is
    // snapshotted before the second round runs.
    expect(latest['recent_events'].map((e: { event: string }) => e.event)).toEqual(['round_start', 'worktree_snapshot', 'agent_spawn', 'agent_exit', 'unrecognized_failure', 'round_end']);
    const one = (await peekJson(p, '--round', '1', '--log'))['current_round'];
    expect(one).toMatchObject({ round_num: 1, exit_code: 0 });
    expect(one['log_tail']).toEqual(['first round says hello']);
    const missing = await peek(p, '--round', '99');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`agent-runner: round 99 not found under ${p.logDir}`);
  });

  it('--select: a subtree as JSON, a scalar raw without --json, an unknown segment a one-line error (exit 1)', async () => {
    const p = project({ mode: 'ok' });
    await round(p);
    expect((await peek(p, '--select', 'status.round_num')).stdout).toBe('1\n');
    expect((await peek(p, '--select', 'status.last_outcome')).stdout).toBe('clean\n');
    expect((await peek(p, '--select', 'status.last_outcome', '--json')).stdout).toBe('"clean"\n');
    expect(JSON.parse((await peek(p, '--select', 'recent_rounds.0', '--json')).stdout)).toMatchObject({ round_num: 1 });
    const bad = await peek(p, '--select', 'status.nope.x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("agent-runner: path segment 'nope' not found in select path 'status.nope.x'\n");
    const badRound = await peek(p, '--round', 'soon');
    expect(badRound.code).toBe(2);
    expect(badRound.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('halt and wait state from a real serve', async () => {
    const p = project({ mode: 'ok', runtime: { restart_delay_s: 3600 } });
    const serve = startCli(['serve', '--config', p.config], { cwd: p.dir });
    track(serve);
    const done = finish(serve);
    await waitFor(() => readEvents(p.logDir).some((e) => e.event === 'serve_waiting'), 'serve waiting');
    const s = await peekJson(p);
    expect(s['wait']).toMatchObject({ reason: 'restart_delay' });
    expect(s['wait']['seconds_left']).toBeGreaterThan(3500);
    expect(s['service']).toMatchObject({ mode: 'pid-file', active: true, pid: serve.pid });
    expect(s['serve']).toMatchObject({ pid: serve.pid, process: 'alive', state: 'waiting', rounds_completed: 1 });
    serve.kill('SIGTERM');
    await done;

    const q = project({ mode: 'exit:1', runtime: { crash_loop_threshold: 1, restart_delay_s: 0 } });
    const r = await runCli(['serve', '--config', q.config], { cwd: q.dir });
    expect(r.code).toBe(80);
    const h = await peekJson(q);
    expect(h['halt']).toMatchObject({ reason: 'crash_loop', exit_code: 80 });
    expect((await peek(q)).stdout).toContain('HALTED (crash_loop)');
  });

  it('human output: a readable summary, colour only on a terminal and never with NO_COLOR', async () => {
    const p = project({ mode: 'ok' });
    await round(p);
    const plain = await peek(p);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(p.dir.split('/').at(-1)!);
    expect(plain.stdout).toMatch(/R1\s+clean/);
    expect(plain.stdout).not.toContain('\x1b[');
    // Under a pseudo-terminal (script(1)): colour, unless NO_COLOR is set.
    const tty = (noColor: boolean) =>
      spawnSync('script', ['-qec', `${process.execPath} ${CLI} peek --config ${p.config}`, '/dev/null'], {
        encoding: 'utf8',
        env: { ...process.env, TERM: 'xterm', ...(noColor ? { NO_COLOR: '1' } : { NO_COLOR: '' }) },
      });
    expect(tty(false).stdout).toContain('\x1b[');
    expect(tty(true).stdout).not.toContain('\x1b[');
  });

  it('watch: repeated plain output when not on a terminal; SIGINT ends it with exit 0', async () => {
    const p = project({ mode: 'ok' });
    await round(p);
    const r = await runCli(['watch', '--interval', '0.1', '--count', '3', '--json', '--select', 'status.round_num', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1\n1\n1\n');
    const w = startCli(['watch', '--interval', '0.1', '--config', p.config], { cwd: p.dir });
    const done = finish(w);
    let out = '';
    w.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.split('recent rounds:').length >= 3, 'two refreshes');
    expect(out).not.toContain('\x1b[2J');
    w.kill('SIGINT');
    expect((await done).code).toBe(0);
    // On a terminal the screen is redrawn in place.
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${CLI} watch --interval 0.1 --count 2 --config ${p.config}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(tty.stdout.split('\x1b[H\x1b[2J')).toHaveLength(3);
  });

  it('a missing config is one line with the config exit code, not a stack trace', async () => {
    const r = await runCli(['peek', '--config', '/nonexistent/agent-runner.toml']);
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync('/nonexistent')).toBe(false);
  });
});
