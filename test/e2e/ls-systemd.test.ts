// `ls` asks the service manager, as `status` does: projects with a real systemd --user unit show
// as running or stopped, a project without one as not installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema } from '../helpers/schema.js';
import { startUserManager, systemdUnavailableReason, type UserManager } from '../helpers/systemd-user.js';
import { CLI, makeProject, waitFor, type Project } from '../helpers/project.js';

const reason = systemdUnavailableReason();
const skip = reason !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`skipping ls systemd e2e: ${reason}`);

describe.skipIf(skip)('ls with systemd --user units', () => {
  let m: UserManager;
  const projects: Project[] = [];
  const state = mkdtempSync(join(tmpdir(), 'ar-ls-systemd-'));
  const ar = (p: Project | undefined, ...args: string[]) =>
    m.run(process.execPath, [CLI, ...args, ...(p ? ['--config', p.config] : [])], { cwd: p?.dir ?? state, timeoutMs: 120_000, env: { ...m.env, XDG_STATE_HOME: state, NO_COLOR: '1' } });

  beforeAll(async () => {
    m = await startUserManager();
  }, 60_000);
  afterAll(async () => {
    await m?.stop();
    for (const p of projects) p.cleanup();
    rmSync(state, { recursive: true, force: true });
  });

  it('one running, one stopped (halted by its budget, so systemd does not restart it), one never installed', async () => {
    const running = makeProject({ mode: 'sleep:300', runtime: { round_timeout_s: 600, stop_drain_s: 1, kill_grace_s: 1 } });
    const stopped = makeProject({ mode: 'ok', runtime: { max_rounds: 1 } });
    const bare = makeProject({ mode: 'ok' });
    projects.push(running, stopped, bare);
    for (const p of [running, stopped]) expect((await ar(p, 'install')).exitCode).toBe(0);
    expect((await ar(bare, 'round')).exitCode).toBe(0);

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed document, checked against its schema below
    type Doc = { projects: Array<Record<string, any>> };
    const find = (d: Doc, p: Project) => d.projects.find((x) => x['config'] === p.config);
    const doc = await waitFor(async () => {
      const r = await ar(undefined, 'ls', '--json');
      expect(r.exitCode, r.stderr).toBe(0);
      const d = JSON.parse(r.stdout) as Doc;
      // The halt is recorded a moment before serve exits and its unit goes inactive.
      return find(d, running)?.['current_round'] && find(d, stopped)?.['service']?.state === 'stopped' ? d : undefined;
    }, 'a round running under one unit, and the other halted', 60_000);
    assertMatchesSchema('ls', doc);
    const row = (p: Project) => find(doc, p);
    const main = Number((await m.show(`agent-runner@${running.project}.service`, ['MainPID'])).MainPID);
    expect(row(running)).toMatchObject({ presence: 'ok', service: { state: 'running', mode: 'systemd-user', pid: main }, current_round: { round_num: expect.any(Number) } });
    expect(row(stopped)).toMatchObject({ presence: 'ok', service: { state: 'stopped', mode: 'systemd-user', pid: null }, halt: { reason: 'budget' }, last_round: { outcome: 'clean' } });
    expect(row(bare)).toMatchObject({ presence: 'ok', service: { state: 'not_installed', mode: 'none', pid: null }, current_round: null });

    const human = await ar(undefined, 'ls');
    expect(human.stdout.split('\n').find((l) => l.startsWith(stopped.project))).toMatch(/^\S+\s+stopped\s+-\s+R1 clean\s+budget\s/);
    expect(human.stdout.split('\n').find((l) => l.startsWith(running.project))).toMatch(/^\S+\s+running\s+R\d+ \d+s\s/);
    for (const p of [running, stopped]) await ar(p, 'uninstall');
  }, 240_000);
});
