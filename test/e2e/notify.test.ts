import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, finish, readEvents, REPO, runCli, startCli, waitFor, type EventLine, type Project, useProjects } from '../helpers/project.js';

/**
 * Notifications through a command channel: a real script that records what it got. serve hands a
 * halt to the outbox and delivers it before exiting, with no monitor anywhere; a serve killed in
 * the middle of a delivery leaves it to the next one, which delivers it exactly once.
 */
const RECORDER = join(REPO, 'test/fixtures/bin/notify-recorder.sh');
const SECRET = 'hunter2-very-secret-token-value';

const { project, track } = useProjects();

interface Delivery {
  stdin: Record<string, unknown> & { key: string; kind: string; title: string; hint: string | null; details: Record<string, unknown> };
  env: Record<string, string>;
}

function notifyProject(opts: { channel?: string; env?: Record<string, string>; runtime?: Record<string, unknown>; mode?: string } = {}): Project & { out: string; pids: string } {
  const base = project({ mode: opts.mode ?? 'exit:1', runtime: { crash_loop_threshold: 1, notify_flush_s: 60, ...opts.runtime } });
  const out = join(base.dir, 'out', 'deliveries.jsonl');
  const pids = join(base.dir, 'out', 'notify-pids');
  // Under out/ (ignored by git): the round's dirty-tree handling would stash an untracked file away.
  const envFile = join(base.dir, 'out', 'notify.env');
  writeFileSync(envFile, Object.entries({ NOTIFY_OUT: out, NOTIFY_PIDS: pids, PAGER_TOKEN: SECRET, ...opts.env }).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  writeFileSync(base.config, readFileSync(base.config, 'utf8') + (opts.channel ?? `[[notify]]\nname = "pager"\ntype = "command"\ncommand = ["${RECORDER}"]\nenv_file = "out/notify.env"\ntimeout_s = 60\n`));
  return { ...base, out, pids };
}

const deliveries = (file: string): Delivery[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Delivery) : []);
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
const pidsIn = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);

describe('notify test', () => {
  it('sends a test notification: valid JSON on stdin, AGENT_RUNNER_* variables, exit 0', async () => {
    const p = notifyProject();
    const r = await runCli(['notify', 'test', '--config', p.config], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sent pager \(\d+ ms\)/);
    const [d] = deliveries(p.out);
    expect(d!.stdin).toMatchObject({ kind: 'test', severity: 'info', project: p.project, details: { channel: 'pager' } });
    expect(d!.env).toMatchObject({ AGENT_RUNNER_NOTIFY_KIND: 'test', AGENT_RUNNER_NOTIFY_KEY: d!.stdin.key, AGENT_RUNNER_PROJECT: p.project, AGENT_RUNNER_NOTIFY_CHANNEL: 'pager' });
  });

  it('reports a failing channel with its error, secrets redacted, and exits 1', async () => {
    const p = notifyProject({ env: { NOTIFY_EXIT: '3' } });
    // The secret is a value of the env_file; the line quoting it comes from elsewhere.
    const r = await runCli(['notify', 'test', '--json', '--config', p.config], { cwd: p.dir, env: { NOTIFY_STDERR: `auth refused for ${SECRET}` } });
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as { ok: boolean; results: Array<{ channel: string; ok: boolean; error: string }> };
    expect(res.ok).toBe(false);
    expect(res.results[0]).toMatchObject({ channel: 'pager', ok: false });
    expect(res.results[0]!.error).toMatch(/exited with 3: auth refused/);
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).toContain('[REDACTED]');
  });

  it('kills the whole process tree of a command past its timeout', async () => {
    const p = notifyProject({
      channel: `[[notify]]\nname = "slow"\ntype = "command"\ncommand = ["${RECORDER}"]\nenv_file = "out/notify.env"\ntimeout_s = 1\n`,
      env: { NOTIFY_BLOCK_UNLESS: '/nonexistent' },
    });
    const r = await runCli(['notify', 'test', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL slow: .*timed out after 1s; its process tree was killed/);
    const pids = pidsIn(p.pids);
    expect(pids).toHaveLength(2); // the script and its child
    expect(pids.filter(alive)).toEqual([]);
    expect(deliveries(p.out)).toEqual([]);
  });

  it('--channel names an unknown channel: usage error listing the channels', async () => {
    const p = notifyProject();
    const r = await runCli(['notify', 'test', '--channel', 'nope', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no channel named "nope" .* it has pager/);
  });
});

describe('serve hands a halt to the outbox', () => {
  it('delivers the halt, with its fix hint, before exiting, with no monitor running', async () => {
    const p = notifyProject();
    const r = await runCli(['serve', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
    expect(r.code).toBe(80);
    const ds = deliveries(p.out);
    expect(ds).toHaveLength(1);
    expect(ds[0]!.stdin).toMatchObject({ kind: 'halt', severity: 'critical', details: { reason: 'crash_loop', exit_code: 80 } });
    expect(ds[0]!.stdin.hint).toMatch(/agent-runner resume/);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'notify_sent')).toEqual([expect.objectContaining({ channel: 'pager', kind: 'halt', attempts: 1, key: ds[0]!.stdin.key })]);
    // The event comes before serve_stopped's process exit, and no secret reached the events file.
    expect(JSON.stringify(ev)).not.toContain(SECRET);
  });

  it('a serve killed mid-delivery: the next serve kills the stale attempt and delivers exactly once', async () => {
    const release = 'out/release';
    const p = notifyProject({ env: { NOTIFY_BLOCK_UNLESS: release } });
    const s = track(startCli(['serve', '--config', p.config], { cwd: p.dir }));
    // The first attempt runs and hangs (the script and its child are recorded).
    await waitFor(() => pidsIn(p.pids).length >= 2, 'the first delivery attempt to hang', 30_000);
    const stale = pidsIn(p.pids);
    s.kill('SIGKILL');
    await finish(s);
    expect(stale.every(alive)).toBe(true); // orphaned, still able to deliver late
    writeFileSync(join(p.dir, release), '');
    // The restarted serve refuses to run (halted) but delivers what the dead one left queued.
    const again = await runCli(['serve', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
    expect(again.code).toBe(85);
    await waitFor(() => stale.every((pid) => !alive(pid)), 'the stale attempt to be killed', 10_000);
    const ds = deliveries(p.out);
    expect(ds).toHaveLength(1);
    expect(ds[0]!.stdin).toMatchObject({ kind: 'halt', details: { reason: 'crash_loop' } });
    expect(ofKind(readEvents(p.logDir), 'notify_sent')).toHaveLength(1);
    // A third start finds nothing left to send.
    await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(deliveries(p.out)).toHaveLength(1);
  });
});
