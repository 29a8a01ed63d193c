import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds, monitorDirOf, readEvents, runCli, type Project, useProjects } from '../helpers/project.js';

// Watching a project must not change it: the read-only verbs run against a real project with real
// rounds behind it, and the whole project tree (work tree, .git, log_dir) is compared before and
// after, by name, size and modification time.

const { project } = useProjects();

type Tree = Map<string, string>;

function snapshot(root: string): Tree {
  const out: Tree = new Map();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      out.set(path.slice(root.length), `${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

function changes(before: Tree, after: Tree): string[] {
  const out: string[] = [];
  for (const [k, v] of after) if (before.get(k) !== v) out.push(`${before.has(k) ? 'changed' : 'added'} ${k}`);
  for (const k of before.keys()) if (!after.has(k)) out.push(`removed ${k}`);
  return out;
}

const AUTH_TEXT = 'text:Error: 401 Unauthorized - OAuth token has expired;;exit:1';
const cli = (p: Project, ...args: string[]) => runCli([...args, '--config', p.config], { cwd: p.dir });

describe('read-only verbs write nothing into the watched project', () => {
  it('monitor --once (JSON and human), peek, probe (with and without a cursor), status and events leave the tree as it was', async () => {
    const p = project({ mode: AUTH_TEXT, extraToml: '[monitor]\nwindow = 4\nrate_threshold = 0.5' });
    expect((await cli(p, 'round')).code).toBe(15);
    expect((await cli(p, 'round')).code).toBe(15);
    const before = snapshot(p.dir);

    const first = await cli(p, 'monitor', '--once', '--json');
    expect(first.code).toBe(2);
    expect(first.stdout).toContain('oauth_fail');
    expect((await cli(p, 'monitor', '--once')).code).toBe(2);
    expect((await cli(p, 'peek')).code).toBe(0);
    const peek = await cli(p, 'peek', '--json');
    expect(peek.code).toBe(0);
    // peek shows what the monitor saw, read from the monitor's own state.
    expect(JSON.parse(peek.stdout).monitor.firing.map((a: { detector: string }) => a.detector)).toEqual(['oauth_fail']);
    const probe = await cli(p, 'probe', '--json');
    expect(probe.code).toBe(0);
    const cursor = (JSON.parse(probe.stdout) as { cursor: string }).cursor;
    expect((await cli(p, 'probe', '--json', '--since', cursor)).code).toBe(0);
    expect((await cli(p, 'status')).code).toBe(0);
    expect((await cli(p, 'events', '--window', '3')).code).toBe(0);

    expect(changes(before, snapshot(p.dir))).toEqual([]);

    // The monitor still keeps its books: in its own directory.
    const own = monitorDirOf(p);
    expect(readdirSync(own).sort()).toEqual(expect.arrayContaining(['monitor-state.json', 'probe-state.json']));
    const ev = readEvents(own);
    expect(kinds(ev).filter((k) => k === 'monitor_started')).toHaveLength(2);
    expect(kinds(ev)).toContain('monitor_alert_emitted');
    expect(kinds(readEvents(p.logDir)).some((k) => k.startsWith('monitor_'))).toBe(false);
  });

  it('a monitor-state.json an earlier version left in log_dir is adopted once (nothing firing is paged again) and never touched', async () => {
    const p = project({ mode: AUTH_TEXT, extraToml: '[monitor]\nwindow = 4\nrate_threshold = 0.5' });
    expect((await cli(p, 'round')).code).toBe(15);
    expect((await cli(p, 'round')).code).toBe(15);
    const since = '2026-01-01T00:00:00.000Z';
    const legacy = join(p.logDir, 'monitor-state.json');
    writeFileSync(legacy, JSON.stringify({ v: 1, target: { log_dir: p.logDir }, alerts: { 'oauth_fail|': { detector: 'oauth_fail', subject: '', severity: 'critical', since, message: 'old', auto_action: 'stop_service' } }, polls: 7, updated_at: since }));
    const before = snapshot(p.dir);

    const m = await cli(p, 'monitor', '--once', '--json');
    expect(m.code).toBe(2);
    // Already paged by the earlier monitor: not news.
    expect(m.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { detector?: string; state?: string }).filter((r) => r.state === 'firing')).toEqual([]);
    expect(changes(before, snapshot(p.dir))).toEqual([]);
    const adopted = JSON.parse(readFileSync(join(monitorDirOf(p), 'monitor-state.json'), 'utf8')) as { polls: number; alerts: Record<string, { since: string }> };
    expect(adopted.polls).toBe(8);
    expect(adopted.alerts['oauth_fail|']!.since).toBe(since);
  });
});
