import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TEMPLATE_GOAL } from '../../src/round/template-goal.js';
import { alive, FAKE_AGENT, LONG_PROMPT, makeProject, readEvents, recordedPids, REPO, runCli, survivorsOf, type Project } from '../helpers/project.js';

const projects: Project[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

it('a healthy project: every check named, the agent version recorded, exit 0', async () => {
  const p = makeProject();
  projects.push(p);
  const r = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  expect(r.code, r.stdout).toBe(0);
  const doc = JSON.parse(r.stdout) as { ok: boolean; findings: Array<{ check: string; status: string; detail: string }> };
  expect(doc.ok).toBe(true);
  expect(doc.findings.map((f) => f.check)).toEqual(expect.arrayContaining(['config', 'log_dir_writable', 'agent_cli_in_path', 'work_dir_is_git_repo', 'prompt_files_exist', 'prompt_smoke_passes', 'disk_headroom', 'agent_version', 'git_head', 'service']));
  expect(doc.findings.find((f) => f.check === 'agent_version')!.detail).toMatch(/bash.*version/i);
  expect(readEvents(p.logDir).find((e) => e.event === 'agent_version_recorded')).toMatchObject({ version: expect.stringMatching(/bash/i) });
});

it('a missing per-phase prompt is caught before any round runs: FAIL with the fix, exit 78', async () => {
  const p = makeProject({ extraToml: '[phases]\nlist = ["plan", "build"]\n[phases.build]\nprompt.files = ["prompts/build.md"]' });
  projects.push(p);
  mkdirSync(join(p.dir, 'prompts'));
  const r = await runCli(['doctor', '--config', p.config], { cwd: p.dir });
  expect(r.code).toBe(78);
  expect(r.stdout).toMatch(/FAIL prompt_files_exist: phase build: .*prompts\/build\.md does not exist/);
  expect(r.stdout).toContain('fix: ');
  expect(r.stdout).toContain('not ready');
  writeFileSync(join(p.dir, 'prompts/build.md'), LONG_PROMPT);
  expect((await runCli(['doctor', '--config', p.config], { cwd: p.dir })).code).not.toBe(78);
});

it('a recorded halt and a dirty tree are warnings with their fixes (exit 1)', async () => {
  const p = makeProject({ mode: 'exit:1', runtime: { crash_loop_threshold: 1 } });
  projects.push(p);
  expect((await runCli(['serve', '--config', p.config], { cwd: p.dir })).code).toBe(80);
  writeFileSync(join(p.dir, 'mine.txt'), 'my own work');
  const r = await runCli(['doctor', '--config', p.config], { cwd: p.dir });
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/warn halt: halted \(crash_loop\)/);
  expect(r.stdout).toMatch(/resume/);
  expect(r.stdout).toMatch(/warn git_clean: 1 uncommitted path/);
});

it('upstream fields with no effect are named once on stderr at load, and by doctor as warnings', async () => {
  const p = makeProject({ runtime: { dry_run: true, fresh_eyes_every_n: 3 }, extraToml: '[phases]\nlist = ["a"]\n[phases.a]\ndisable_pre_round_hooks = true\n[plugins]\nsmoke = "x"' });
  projects.push(p);
  const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
  expect(r.code).toBe(0);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('warning:'));
  expect(warnings.map((l) => l.match(/: ([a-z_.]+): has no effect/)?.[1]).sort()).toEqual(['phases.a.disable_pre_round_hooks', 'plugins', 'runtime.dry_run', 'runtime.fresh_eyes_every_n']);
  expect(warnings.find((l) => l.includes('runtime.dry_run'))).toMatch(new RegExp(`^agent-runner: warning: ${p.config}:\\d+: runtime\\.dry_run: has no effect \\(.+\\); remove it$`));

  const d = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  expect(d.stderr).not.toContain('warning:');
  const doc = JSON.parse(d.stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
  const inert = doc.findings.filter((f) => f.check === 'config_inert');
  expect(inert.map((f) => f.status)).toEqual(['warn', 'warn', 'warn', 'warn']);
  expect(inert.map((f) => f.detail).join('\n')).toContain('runtime.dry_run: has no effect');
  expect(d.code).toBe(1);

  // A file without them loads in silence.
  const quiet = makeProject();
  projects.push(quiet);
  expect((await runCli(['round', '--config', quiet.config], { cwd: quiet.dir })).stderr).not.toContain('warning:');
});

it('an agent whose --version hangs: reported as a timeout, and nothing it started survives doctor', async () => {
  const p = makeProject({ command: [FAKE_AGENT], agentEnv: { FAKE_VERSION: 'hang' }, extraToml: '' });
  projects.push(p);
  writeFileSync(p.config, readFileSync(p.config, 'utf8').replace('[agent.env]', 'version_timeout_s = 1\n[agent.env]'));
  const r = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  const doc = JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
  expect(doc.findings.find((f) => f.check === 'agent_version')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/--version timed out after 1s/) });
  // The probe's shell and its child both recorded their pids: neither may outlive doctor.
  const pids = recordedPids(p);
  expect(pids.length).toBeGreaterThanOrEqual(2);
  expect(pids.filter(alive)).toEqual([]);
  expect(survivorsOf(p.testId)).toEqual([]);
});

it('an agent whose --version fails is reported with its exit code', async () => {
  const p = makeProject({ command: [FAKE_AGENT], agentEnv: { FAKE_VERSION: 'fail' } });
  projects.push(p);
  const r = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  const doc = JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
  expect(doc.findings.find((f) => f.check === 'agent_version')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/--version exited 3/) });
});

it('an unedited template prompt fails doctor (exit 78) until its goal is written', async () => {
  const p = makeProject({ prompt: readFileSync(join(REPO, 'prompts/main.md'), 'utf8') });
  projects.push(p);
  const r = await runCli(['doctor', '--config', p.config], { cwd: p.dir });
  expect(r.code, r.stdout).toBe(78);
  expect(r.stdout).toMatch(/FAIL prompt_goal_set: .*prompt\.md still holds the template's placeholder goal/);
  expect(r.stdout).not.toMatch(/^ready/m);
  writeFileSync(join(p.dir, 'prompt.md'), readFileSync(join(p.dir, 'prompt.md'), 'utf8').replace(TEMPLATE_GOAL, 'Goal: make the tests pass.'));
  const again = await runCli(['doctor', '--config', p.config], { cwd: p.dir });
  expect(again.code, again.stdout).toBe(0);
  expect(again.stdout).toMatch(/ok {3}prompt_goal_set/);
});

it('agent-runner\'s own files (config, prompt) are no reason for the dirty-tree warning; the user\'s are', async () => {
  const p = makeProject();
  projects.push(p);
  // The user edited the prompt and config without committing: the dirty-tree handling never
  // touches them, so doctor must not warn that it would.
  writeFileSync(join(p.dir, 'prompt.md'), LONG_PROMPT + 'One more line.\n');
  writeFileSync(p.config, readFileSync(p.config, 'utf8') + '# edited\n');
  const r = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  const git = (JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string; detail: string }> }).findings.find((f) => f.check === 'git_clean');
  expect(git).toMatchObject({ status: 'ok' });
  writeFileSync(join(p.dir, 'mine.txt'), 'my own work');
  const r2 = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  const git2 = (JSON.parse(r2.stdout) as { findings: Array<{ check: string; status: string; detail: string }> }).findings.find((f) => f.check === 'git_clean');
  expect(git2).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^1 uncommitted path\(s\) \(mine\.txt\)/) });
});

it('reports isolation: the cgroup layout and how a round ends, where each limit is enforced, what the sandbox leaves writable', async () => {
  const p = makeProject({ extraToml: '[limits]\nmemory_max = "1G"\ntasks_max = 100\n[sandbox]\nmode = "bwrap"\nnetwork = false\nwritable_paths = ["/nonexistent/agent-state"]\n' });
  projects.push(p);
  const r = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
  const doc = JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
  const f = (check: string) => doc.findings.find((x) => x.check === check)!;
  const mounts = readFileSync('/proc/self/mountinfo', 'latin1');
  const layout = !mounts.includes(' - cgroup2 ') ? /legacy|no cgroup/ : / - cgroup .*(memory|pids)/.test(mounts) ? /^hybrid: cgroup2 at \S+ \(the kill\)/ : /^unified cgroup2 at /;
  expect(f('isolation_cgroup').detail).toMatch(layout);
  expect(f('isolation_cgroup').detail).toMatch(/cgroup\.kill|cgroup\.freeze|sweep \(fallback\)/);
  expect(f('isolation_limits').detail).toMatch(/memory_max → (cgroup2|v1 memory|nowhere)|not enforced/);
  expect(f('isolation_sandbox').detail).toContain(`bwrap: writable ${p.dir}, ${p.logDir}, /nonexistent/agent-state (missing: skipped)`);
  expect(f('isolation_sandbox').detail).toContain('network unshared');
});
