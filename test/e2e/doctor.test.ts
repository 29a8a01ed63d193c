import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LONG_PROMPT, makeProject, readEvents, runCli, type Project } from '../helpers/project.js';

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
