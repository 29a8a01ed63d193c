// Truncated and garbage state files, torn event lines, a symlinked log dir, an unwritable log dir:
// clear errors or tolerant reads, never a crash (and never a crash loop of the supervisor).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, CLI, kinds, readEvents, runCli, type Project, useProjects,
} from '../helpers/project.js';

const { project } = useProjects();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const noStack = (s: string) => expect(s).not.toMatch(/internal error|\n\s+at /);

describe('hostile state files', () => {
  it('a truncated status.json and a garbage counter: the round runs and numbers never go back', async () => {
    const p = project();
    expect((await round(p)).code).toBe(0);
    writeFileSync(join(p.logDir, 'status.json'), '{"round_num": 1, "runn');
    writeFileSync(join(p.logDir, 'round-counter.json'), '\u0000\u0001garbage');
    const r = await round(p);
    expect(r.code).toBe(0);
    noStack(r.stderr);
    const starts = readEvents(p.logDir).filter((e) => e.event === 'round_start').map((e) => e.round_num);
    expect(starts).toEqual([1, 2]);
  });

  it('torn and non-JSON event lines: rounds, peek and status keep working', async () => {
    const p = project();
    expect((await round(p)).code).toBe(0);
    const f = join(p.logDir, readFileSync(join(p.logDir, 'status.json'), 'utf8') && 'events-' + new Date().toISOString().slice(0, 7) + '.jsonl');
    writeFileSync(f, readFileSync(f, 'utf8') + '{"ts": "2026-11-21T00:00:00Z", "event": "agent_ex\nnot json at all\n\u00ff\u00fe binary\n');
    expect((await round(p)).code).toBe(0);
    const peek = await runCli(['peek', '--json', '--config', p.config], { cwd: p.dir });
    expect(peek.code, peek.stderr).toBe(0);
    expect(JSON.parse(peek.stdout)).toHaveProperty('project', p.project);
    const st = await runCli(['status', '--json', '--config', p.config], { cwd: p.dir });
    expect(st.code).toBe(0);
  });

  it('status.json claiming a running round with a dead, garbage pid is recovered, not trusted', async () => {
    const p = project();
    mkdirSync(p.logDir, { recursive: true });
    writeFileSync(join(p.logDir, 'status.json'), JSON.stringify({ round_num: 7, running: true, pid: 999999999, pgid: 1, round_marker: 'x', supervisor_pid: 999999998 }));
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'round_recovered')).toMatchObject({ round_num: 7, killed: 0 });
    expect(ev.find((e) => e.event === 'round_start')).toMatchObject({ round_num: 8 });
  });

  it('a hostile status.json naming pid 1 / group 1 as the round never makes recovery signal anything else', async () => {
    const p = project();
    mkdirSync(p.logDir, { recursive: true });
    // A canary outside any round: it must outlive the recovery.
    // Outlives any slow run of the nine commands below; killed by pid at the end.
    const canary = spawn('sleep', ['3600'], { stdio: 'ignore', detached: true });
    try {
      for (const claim of [{ pid: 1, pgid: 1 }, { pid: process.pid, pgid: 0 }, { pid: canary.pid, pgid: canary.pid }]) {
        writeFileSync(join(p.logDir, 'status.json'), JSON.stringify({ round_num: 7, running: true, ...claim, round_marker: 'not-a-real-round', supervisor_pid: 999999998 }));
        const r = await round(p);
        expect(r.code, r.stderr).toBe(0);
        expect(alive(canary.pid!)).toBe(true);
      }
      expect(readEvents(p.logDir).filter((e) => e.event === 'round_recovered').map((e) => e['killed'])).toEqual([0, 0, 0]);
    } finally {
      canary.kill('SIGKILL');
    }
  });

  it('a garbage halt.json still halts: serve refuses with a clear line (exit 85) until resume', async () => {
    const p = project();
    mkdirSync(p.logDir, { recursive: true });
    writeFileSync(join(p.logDir, 'halt.json'), '{{{');
    const r = await runCli(['serve', '--once', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(85);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('halt.json is unreadable');
    expect((await runCli(['resume', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    expect((await runCli(['serve', '--once', '--config', p.config], { cwd: p.dir })).code).toBe(0);
  });
});

describe('hostile log dirs', () => {
  it('a symlinked log dir works, and its target is made 0700', async () => {
    const target = mkdtempSync(join(tmpdir(), 'ar-logs-'));
    dirs.push(target);
    const p = project({ runtime: { log_dir: '.agent-runner/link' } });
    mkdirSync(join(p.dir, '.agent-runner'), { recursive: true });
    symlinkSync(target, join(p.dir, '.agent-runner/link'));
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(readEvents(target))).toContain('round_end');
    expect(statSync(target).mode & 0o777).toBe(0o700);
  });

  const why = process.getuid?.() !== 0 ? 'needs root for a read-only mount' : undefined;
  it.skipIf(why !== undefined && process.env['CI'] !== 'true')('an unwritable log dir: exit 78 naming the check, no stack, no retry loop', () => {
    const p = project();
    mkdirSync(p.logDir, { recursive: true });
    // Root ignores permission bits, so make it really unwritable: a read-only bind mount.
    const script = `mount --bind "$LOG" "$LOG" && mount -o remount,bind,ro "$LOG" && "$NODE" "$CLI" serve --config "$CFG"; echo "rc=$?"`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], {
      env: { ...process.env, LOG: p.logDir, CFG: p.config, CLI, NODE: process.execPath },
      cwd: p.dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stdout).toContain('rc=78');
    expect(r.stderr).toContain('log_dir_writable');
    noStack(r.stderr);
  });
});

describe('hostile pid file', () => {
  it('stop and kill never signal a process that is not this project\'s serve', async () => {
    const p = project();
    mkdirSync(p.logDir, { recursive: true });
    // Outlives any slow run of the nine commands below; killed by pid at the end.
    const canary = spawn('sleep', ['3600'], { stdio: 'ignore', detached: true });
    try {
      for (const pid of [String(canary.pid), '1', String(process.pid)]) {
        writeFileSync(join(p.logDir, 'serve.pid'), pid);
        const st = JSON.parse((await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { active: boolean };
        expect(st.active).toBe(false);
        expect((await runCli(['stop', '--config', p.config], { cwd: p.dir })).code).toBe(0);
        expect((await runCli(['kill', '--config', p.config], { cwd: p.dir })).code).toBe(0);
        expect(alive(canary.pid!)).toBe(true);
      }
    } finally {
      canary.kill('SIGKILL');
    }
  });
});
