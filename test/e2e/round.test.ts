import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  alive, finish, kinds, readEvents, readJson, recordedPids, runCli, startCli, survivorsOf, waitFor,
  type Project, useProjects,
} from '../helpers/project.js';

const { project } = useProjects();

const round = (p: Project, ...extra: string[]) => runCli(['round', '--config', p.config, ...extra], { cwd: p.dir });

describe('round: outcomes', () => {
  it('a clean round exits 0 and records the upstream event sequence', async () => {
    const p = project({ mode: 'ok' });
    const r = await round(p);
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(kinds(ev)).toEqual(['round_start', 'agent_spawn', 'agent_exit', 'round_end']);
    const exit = ev.find((e) => e.event === 'agent_exit')!;
    expect(exit).toMatchObject({ round_num: 1, exit_code: 0, timed_out: false, exit_cause: 'clean', outcome: 'clean' });
    const status = readJson(join(p.logDir, 'status.json'));
    expect(status).toMatchObject({ round_num: 1, running: false, last_exit_code: 0, last_outcome: 'clean' });
    // Upstream's Python-style separators, so grep pipelines keep matching.
    expect(readFileSync(join(p.logDir, readdirSync(p.logDir).find((n) => n.startsWith('events-'))!), 'utf8')).toContain('"event": "agent_exit"');
  });

  it('an agent exiting 1 makes round exit 10 with outcome error', async () => {
    const p = project({ mode: 'exit:1' });
    const r = await round(p);
    expect(r.code).toBe(10);
    expect(readEvents(p.logDir).find((e) => e.event === 'agent_exit')).toMatchObject({ exit_code: 1, exit_cause: 'error', outcome: 'error' });
    expect(r.stdout).toMatch(/round 1: error/);
  });

  it('round numbers increase across invocations and survive a corrupt status.json', async () => {
    const p = project();
    await round(p);
    await round(p);
    writeFileSync(join(p.logDir, 'status.json'), '{"round_num": 2, "runn');
    writeFileSync(join(p.logDir, 'round-counter.json'), 'garbage');
    const r = await round(p);
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ev.filter((e) => e.event === 'round_start').map((e) => e.round_num)).toEqual([1, 2, 3]);
    expect(ev.some((e) => e.event === 'status_recovered')).toBe(true);
  });
});

describe('round: the process tree never leaks', () => {
  it('hard timeout kills a child, a setsid grandchild, a double-forked grandchild and a TERM-ignoring agent: zero survivors', async () => {
    const p = project({ mode: 'ignore_term;;child;;setsid;;double_fork;;ignore_term_child;;sleep:300', runtime: { round_timeout_s: 2, kill_grace_s: 1 } });
    const r = await round(p);
    expect(r.code).toBe(11);
    const pids = recordedPids(p);
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(pids.filter(alive)).toEqual([]);
    expect(survivorsOf(p.testId)).toEqual([]);
    const ev = readEvents(p.logDir);
    expect(kinds(ev)).toEqual(['round_start', 'agent_spawn', 'agent_exit', 'round_timeout_kill', 'round_end']);
    expect(ev.find((e) => e.event === 'agent_exit')).toMatchObject({ timed_out: true, exit_cause: 'timeout', outcome: 'timeout' });
    expect(ev.find((e) => e.event === 'round_timeout_kill')).toMatchObject({ reason: 'exceeded round_timeout_s=2' });
    // Cut by the timeout, not by the 300 s the agent asked for: the round's own clock says so, and a
    // busy machine cannot make that flaky (no wall-clock bound on the test's side).
    expect(ev.find((e) => e.event === 'round_end')!['duration_s']).toBeLessThan(300);
  });

  it('leftovers of a clean exit (child, setsid and double-forked daemons) are swept and counted', async () => {
    const p = project({ mode: 'child;;setsid;;double_fork' });
    const r = await round(p);
    expect(r.code).toBe(0);
    expect(recordedPids(p).length).toBe(4);
    expect(survivorsOf(p.testId)).toEqual([]);
    const exit = readEvents(p.logDir).find((e) => e.event === 'agent_exit')!;
    expect(exit['leftovers_killed']).toBe(3);
  });

  it('a grandchild holding stdout after the leader exits does not hold the round open', async () => {
    const p = project({ mode: 'hold_stdout', runtime: { round_timeout_s: 60 } });
    const r = await round(p);
    expect(r.code).toBe(0);
    // Held open, the round would end only at its 60 s timeout: it ended on the leader's exit instead.
    const ev = readEvents(p.logDir);
    expect(kinds(ev)).not.toContain('round_timeout_kill');
    expect(ev.find((e) => e.event === 'agent_exit')).toMatchObject({ timed_out: false });
    expect(ev.find((e) => e.event === 'round_end')!['duration_s']).toBeLessThan(60);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('a result followed by a hang (with only an idle child) is grace-killed and classified as success + hang', async () => {
    const p = project({ mode: 'result_hang', runtime: { max_grace_after_result_s: 1, round_timeout_s: 60 } });
    const r = await round(p);
    expect(r.code).toBe(12);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'agent_exit')).toMatchObject({ outcome: 'grace_kill', timed_out: true });
    expect(kinds(ev)).toContain('round_grace_kill');
    expect(survivorsOf(p.testId)).toEqual([]);
    // Ended by the 1 s grace, not by the 60 s round timeout.
    expect(kinds(ev)).not.toContain('round_timeout_kill');
  });

  it('a result with a working (CPU-busy) child extends the grace instead of killing', async () => {
    const p = project({ mode: 'result_then_busy:3', runtime: { max_grace_after_result_s: 1, round_timeout_s: 60 } });
    const r = await round(p);
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(kinds(ev)).toContain('round_grace_extended');
    expect(kinds(ev)).not.toContain('round_grace_kill');
  });

  it('SIGTERM to round mid-run stops the agent tree, records the round and releases the lock', async () => {
    const p = project({ mode: 'ignore_term;;child;;setsid;;sleep:300', runtime: { kill_grace_s: 1 } });
    const child = startCli(['round', '--config', p.config], { cwd: p.dir });
    await waitFor(() => existsSync(join(p.logDir, 'status.json')) && readJson(join(p.logDir, 'status.json'))['running'] === true && recordedPids(p).length >= 3, 'agent spawned');
    child.kill('SIGTERM');
    const r = await finish(child);
    expect(r.code).toBe(143);
    expect(survivorsOf(p.testId)).toEqual([]);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'agent_exit')).toMatchObject({ outcome: 'interrupted' });
    expect(ev.find((e) => e.event === 'round_interrupted')).toMatchObject({ signal: 'SIGTERM' });
    expect(kinds(ev).at(-1)).toBe('round_end');
    expect(existsSync(join(p.logDir, 'agent-runner.lock.holder'))).toBe(false);
    // The lock is free: the next round runs.
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, 'FAKE_MODE = "ok"'));
    expect((await round(p)).code).toBe(0);
  });
});

describe('round: one supervisor per project', () => {
  it('a concurrent second round is refused with exit 75 naming the holder pid', async () => {
    const p = project({ mode: 'sleep:300' });
    const first = startCli(['round', '--config', p.config], { cwd: p.dir });
    await waitFor(() => existsSync(join(p.logDir, 'agent-runner.lock.holder')) && recordedPids(p).length > 0, 'first round running');
    const second = await round(p);
    expect(second.code).toBe(75);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    first.kill('SIGTERM');
    await finish(first);
  });

  it('a SIGKILLed round leaves a stale holder that the next round takes over, reaping the orphaned agent', async () => {
    const p = project({ mode: 'child;;sleep:300' });
    const first = startCli(['round', '--config', p.config], { cwd: p.dir });
    await waitFor(() => recordedPids(p).length >= 2, 'agent running');
    first.kill('SIGKILL');
    await finish(first);
    // The agent lives on in its own session: exactly the orphan upstream leaves behind.
    expect(survivorsOf(p.testId).length).toBeGreaterThan(0);
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, 'FAKE_MODE = "ok"'));
    const r = await round(p);
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'lock_stale_takeover')).toMatchObject({ holder_pid: first.pid, reason: 'holder_dead' });
    expect(ev.find((e) => e.event === 'round_recovered')).toMatchObject({ round_num: 1 });
    expect(ev.filter((e) => e.event === 'round_end').map((e) => [e.round_num, e.outcome])).toEqual([[1, 'interrupted'], [2, 'clean']]);
    expect(survivorsOf(p.testId)).toEqual([]);
  });
});

describe('round: a stale holder whose pid now belongs to someone else', () => {
  it('is recognised by its start time (pid reused), taken over, and recorded', async () => {
    const p = project();
    const { spawn } = await import('node:child_process');
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
    try {
      mkdirSync(p.logDir, { recursive: true });
      writeFileSync(join(p.logDir, 'agent-runner.lock.holder'), JSON.stringify({ pid: stranger.pid, started_at: '2026-01-01T00:00:00Z', start_time: 1 }));
      const r = await round(p);
      expect(r.code).toBe(0);
      expect(readEvents(p.logDir).find((e) => e.event === 'lock_stale_takeover')).toMatchObject({ holder_pid: stranger.pid, reason: 'pid_reused' });
      expect(alive(stranger.pid!)).toBe(true);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});

describe('round: dirty trees are preserved, never lost', () => {
  it('a dirty tree is snapshotted under refs/agent-runner/orphans/R<N>, recoverable, and the stash list untouched', async () => {
    const p = project({ mode: 'dirty' });
    const r = await round(p);
    expect(r.code).toBe(0);
    const ev = readEvents(p.logDir);
    const stashed = ev.find((e) => e.event === 'orphan_stashed')!;
    expect(stashed).toMatchObject({ round_num: 1, ref_name: 'refs/agent-runner/orphans/R1', reason: 'clean_exit_with_dirty_tree' });
    expect(ev.find((e) => e.event === 'dirty_detected')!['files']).toEqual(expect.arrayContaining(['tracked.txt', 'dirty-1.txt']));
    const git = (...a: string[]) => execFileSync('git', ['-C', p.dir, ...a], { encoding: 'utf8' });
    expect(git('rev-parse', 'refs/agent-runner/orphans/R1').trim()).toBe(stashed['ref']);
    expect(git('show', `${stashed['ref']}:tracked.txt`)).toBe('base\nchange\n');
    expect(git('show', `${stashed['ref']}:dirty-1.txt`)).toMatch(/^work \d+/);
    expect(git('status', '--porcelain').trim()).toBe('');
    expect(git('stash', 'list').trim()).toBe('');
    // The next round is told where the work went.
    const r2 = await round(p);
    expect(r2.code).toBe(0);
    const ctx = readJson(join(p.logDir, 'round-context.json'));
    expect(ctx['orphan_stash']).toMatchObject({ ref: stashed['ref'] });
    expect(ctx['previous']).toMatchObject({ round_num: 1, had_dirty_tree: true });
  });

  it('a timed-out round records and preserves its dirty tree too', async () => {
    const p = project({ mode: 'dirty;;sleep:300', runtime: { round_timeout_s: 1 } });
    const r = await round(p);
    expect(r.code).toBe(11);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'dirty_detected')).toMatchObject({ outcome: 'timeout' });
    expect(ev.find((e) => e.event === 'orphan_stashed')).toMatchObject({ reason: 'timeout_with_dirty_tree' });
  });

  it('dirty_action = "ignore" only records, auto_commit commits with a recognisable subject', async () => {
    const p = project({ mode: 'dirty', extraToml: '[vcs]\ndirty_action = "ignore"' });
    await round(p);
    expect(execFileSync('git', ['-C', p.dir, 'status', '--porcelain'], { encoding: 'utf8' })).toContain('tracked.txt');
    const q = project({ mode: 'dirty', extraToml: '[vcs]\ndirty_action = "auto_commit"' });
    await round(q);
    expect(execFileSync('git', ['-C', q.dir, 'log', '-1', '--format=%s'], { encoding: 'utf8' }).trim()).toBe('agent-runner auto-commit: R1');
    expect(readEvents(q.logDir).some((e) => e.event === 'dirty_auto_committed')).toBe(true);
  });
});

describe('round: prompt delivery and context', () => {
  it('stdin delivery: frontmatter stripped, context prepended, stdin closed, prompt absent from argv', async () => {
    const p = project({ prompt: '---\ntitle: x\n---\n' + 'Do the work. '.repeat(50), mode: 'stdin_to:out/got-prompt.txt;;env_to:out/got-env.txt' });
    const r = await round(p);
    expect(r.code).toBe(0);
    const got = readFileSync(join(p.dir, 'out/got-prompt.txt'), 'utf8');
    expect(got.startsWith('```json round-context\n')).toBe(true);
    expect(got).toContain('"round_num": 1');
    expect(got).not.toContain('title: x');
    expect(got).toContain('Do the work.');
    const env = readFileSync(join(p.dir, 'out/got-env.txt'), 'utf8');
    expect(env).toMatch(/^AGENT_RUNNER_ROUND_ID=[0-9a-f-]{36}$/m);
    expect(env).toContain('AGENT_RUNNER_ROUND_NUM=1');
  });

  it('the round log is 0600 and the log dir 0700', async () => {
    const p = project();
    await round(p);
    expect(statSync(p.logDir).mode & 0o777).toBe(0o700);
    const log = readdirSync(join(p.logDir, 'rounds'))[0]!;
    expect(statSync(join(p.logDir, 'rounds', log)).mode & 0o777).toBe(0o600);
  });
});

describe('round: classification reads structured output first', () => {
  it('stream-json rate_limit_event rejected → usage_limit with its reset time', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const p = project({ mode: `json:{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","rateLimitType":"five_hour","resetsAt":${reset}}};;exit:1` });
    const r = await round(p);
    expect(r.code).toBe(16);
    expect(readEvents(p.logDir).find((e) => e.event === 'agent_exit')).toMatchObject({ transient: 'usage_limit', reset_at_epoch: reset });
  });

  it('stream-json 401 result → auth failure', async () => {
    const p = project({ mode: 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1' });
    const r = await round(p);
    expect(r.code).toBe(15);
    expect(readEvents(p.logDir).find((e) => e.event === 'transient_error_detected')).toMatchObject({ classification: 'auth_failure' });
  });

  it('a limit phrase inside tool output does not count as a usage limit', async () => {
    const tool = '{"type":"user","message":{"content":[{"type":"tool_result","content":"README says: Claude usage limit reached|1999999999"}]}}';
    const p = project({ mode: `json:${tool};;exit:1` });
    const r = await round(p);
    expect(r.code).toBe(10);
    expect(readEvents(p.logDir).find((e) => e.event === 'agent_exit')).toMatchObject({ transient: null });
  });

  it('plain-text agents fall back to their last lines: network errors become a blip', async () => {
    const p = project({ mode: 'text:Error: connect ECONNREFUSED 127.0.0.1:443;;exit:1' });
    const r = await round(p);
    expect(r.code).toBe(17);
    expect(kinds(readEvents(p.logDir))).toContain('agent_network_blip');
  });
});

describe('round: retention', () => {
  it('caps the round log (head + tail kept) and the number of round logs', async () => {
    const p = project({ mode: 'flood:3000000;;text:THE-END', runtime: { round_log_max_bytes: 100_000, round_log_retention: 2 } });
    for (let i = 0; i < 3; i++) expect((await round(p)).code).toBe(0);
    const logs = readdirSync(join(p.logDir, 'rounds'));
    expect(logs.map((n) => n.split('-')[0])).toEqual(['R2', 'R3']);
    const log = readFileSync(join(p.logDir, 'rounds', logs.at(-1)!), 'utf8');
    expect(log.length).toBeLessThan(200_000);
    expect(log).toContain('bytes elided');
    expect(log.trimEnd().endsWith('THE-END')).toBe(true);
    expect(kinds(readEvents(p.logDir))).toContain('round_log_truncated');
  });
});

describe('round: startup checks', () => {
  it('a missing agent CLI fails its named check with exit 78 and an event', async () => {
    const p = project({ command: ['no-such-agent-cli'] });
    const r = await round(p);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('agent_cli_in_path');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readEvents(p.logDir).find((e) => e.event === 'smoke_check_failed')).toMatchObject({ check: 'agent_cli_in_path' });
  });

  it('a prompt that is empty after frontmatter stripping fails prompt_files_exist', async () => {
    const p = project({ prompt: '---\na: b\n---\n\n' });
    const r = await round(p);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('prompt_files_exist');
  });

  it('a work dir that is not a git repository fails work_dir_is_git_repo', async () => {
    const p = project({ git: false });
    const r = await round(p);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('work_dir_is_git_repo');
  });

  it('a disk above the critical threshold fails disk_headroom', async () => {
    const p = project({ extraToml: '[monitor.host_health]\ndisk_warning_pct = 0.001\ndisk_critical_pct = 0.002' });
    const r = await round(p);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('disk_headroom');
  });
});

it('spawnSync sanity: the fixture agent is executable bash', () => {
  expect(spawnSync('bash', ['-n', join(import.meta.dirname, '../fixtures/bin/fake-agent.sh')]).status).toBe(0);
});

describe('round: a recorded halt', () => {
  it('round refuses while halted (exit 85, the resume hint, no spawn); --force runs one round and keeps the halt', async () => {
    const p = project({ mode: 'exit:1', runtime: { crash_loop_threshold: 1 } });
    expect((await runCli(['serve', '--config', p.config], { cwd: p.dir })).code).toBe(80);
    const spawnsBefore = readEvents(p.logDir).filter((e) => e.event === 'agent_spawn').length;
    const r = await round(p);
    expect(r.code).toBe(85);
    expect(r.stderr).toMatch(/halted \(crash_loop\).*agent-runner resume.*round --force/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack trace
    let ev = readEvents(p.logDir);
    expect(ev.filter((e) => e.event === 'agent_spawn')).toHaveLength(spawnsBefore);
    expect(ev.filter((e) => e.event === 'halt_refused_start').at(-1)).toMatchObject({ reason: 'crash_loop', verb: 'round' });
    const forced = await round(p, '--force');
    expect(forced.code).toBe(10);
    ev = readEvents(p.logDir);
    expect(ev.filter((e) => e.event === 'agent_spawn')).toHaveLength(spawnsBefore + 1);
    expect(existsSync(join(p.logDir, 'halt.json'))).toBe(true);
  });
});
