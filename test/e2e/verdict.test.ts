import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds, readEvents, readJson, runCli, survivorsOf, useProjects, type EventLine, type Project } from '../helpers/project.js';

// A verdict for every round, judged from what it left behind; the loop and the monitor act on it.

const { project } = useProjects();
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
const round = (p: Project, ...extra: string[]) => runCli(['round', '--config', p.config, ...extra], { cwd: p.dir });
const setMode = (p: Project, mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));
const firing = async (p: Project): Promise<Array<{ detector: string; context: Record<string, unknown> }>> => {
  const r = await runCli(['monitor', '--once', '--json', '--config', p.config], { cwd: p.dir });
  expect(r.stderr).not.toContain('internal error');
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { detector: string; state: string; context: Record<string, unknown> })
    .filter((a) => a.state === 'firing');
};

describe('the verdict of a round', () => {
  it('is on round_end with its evidence and in status.json: a commit is productive, an exit 0 that changed nothing is no_op', async () => {
    const p = project({ mode: 'commit:1' });
    expect((await round(p)).code).toBe(0);
    const first = ofKind(readEvents(p.logDir), 'round_end')[0]!;
    expect(first).toMatchObject({ outcome: 'clean', verdict: 'productive', evidence: { head_moved: true, commits: 1, files_changed: 0, is_error: false, exit_code: 0 } });
    setMode(p, 'json:{"type":"result","subtype":"success","is_error":false,"result":"Nothing to do.","usage":{"input_tokens":40,"output_tokens":12}}');
    expect((await round(p)).code).toBe(0);
    const second = ofKind(readEvents(p.logDir), 'round_end')[1]!;
    expect(second).toMatchObject({ outcome: 'clean', verdict: 'no_op', evidence: { head_moved: false, commits: 0, files_changed: 0, tokens: 52 } });
    expect(readJson(join(p.logDir, 'status.json'))).toMatchObject({ last_outcome: 'clean', last_verdict: 'no_op' });
    const st = await runCli(['status', '--json', '--config', p.config], { cwd: p.dir });
    expect((JSON.parse(st.stdout) as { last_round: { verdict: string } }).last_round.verdict).toBe('no_op');
  });

  it('three no_op rounds in a row fire no_progress; a productive round resolves it', async () => {
    const p = project({ mode: 'ok' });
    for (let i = 0; i < 2; i++) expect((await round(p)).code).toBe(0);
    expect((await firing(p)).map((a) => a.detector)).toEqual([]);
    expect((await round(p)).code).toBe(0);
    const alerts = await firing(p);
    expect(alerts.map((a) => a.detector)).toEqual(['no_progress']);
    expect(alerts[0]!.context).toMatchObject({ streak: 3, threshold: 3, last_round: 3 });
    setMode(p, 'commit:1');
    expect((await round(p)).code).toBe(0);
    expect((await firing(p)).map((a) => a.detector)).toEqual([]);
  });

  it('runtime.max_idle_rounds halts serve after that many no_op rounds (exit 88, no_progress_halt), and the halt holds', async () => {
    const p = project({ mode: 'ok', runtime: { max_idle_rounds: 2 } });
    const r = await runCli(['serve', '--config', p.config, '--max-rounds', '5'], { cwd: p.dir, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(88);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_start')).toHaveLength(2);
    expect(ofKind(ev, 'no_progress_halt')[0]).toMatchObject({ consecutive: 2, max_idle_rounds: 2, round_num: 2 });
    expect(readJson(join(p.logDir, 'halt.json'))).toMatchObject({ reason: 'idle', exit_code: 88 });
    expect((await runCli(['serve', '--config', p.config], { cwd: p.dir })).code).toBe(85);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('a failure no known shape explains is reported as unrecognized_failure, quoting its line with secrets masked', async () => {
    const p = project({ mode: 'text:fatal: the frobnicator said no (token sk-test-SECRET123);;exit:1', agentEnv: { API_TOKEN: 'sk-test-SECRET123' } });
    expect((await round(p)).code).toBe(10);
    const ev = readEvents(p.logDir);
    const u = ofKind(ev, 'unrecognized_failure')[0]!;
    expect(u).toMatchObject({ outcome: 'error', exit_code: 1 });
    expect(u['sample']).toMatch(/^fatal: the frobnicator said no/);
    expect(u['sample']).not.toContain('SECRET123');
    expect(ofKind(ev, 'round_end')[0]).toMatchObject({ verdict: 'failed' });
    // A failure with a known shape is not "unrecognized".
    setMode(p, 'text:Error: getaddrinfo ENOTFOUND api.example.com;;exit:1');
    expect((await round(p)).code).toBe(17);
    expect(ofKind(readEvents(p.logDir), 'unrecognized_failure')).toHaveLength(1);
    expect(existsSync(join(p.logDir, 'halt.json'))).toBe(false);
    expect(kinds(readEvents(p.logDir))).toContain('transient_error_detected');
  });
});
