import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runCli } from '../helpers/project.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function repo(): string {
  const d = mkdtempSync(join(tmpdir(), 'ar-init-'));
  dirs.push(d);
  execFileSync('git', ['init', '-q', d]);
  execFileSync('git', ['-C', d, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'empty']);
  return d;
}
const git = (d: string, ...a: string[]) => execFileSync('git', ['-C', d, ...a], { encoding: 'utf8' });

it('commits exactly the files it created, leaving the user\'s staged work alone', async () => {
  const d = repo();
  writeFileSync(join(d, 'mine.txt'), 'staged by the user');
  git(d, 'add', 'mine.txt');
  const r = await runCli(['init'], { cwd: d });
  expect(r.code, r.stderr).toBe(0);
  expect(git(d, 'show', '--name-only', '--format=%s', 'HEAD').trim().split('\n')).toEqual(['chore: agent-runner initial config', '', '.gitignore', 'agent-runner.toml', 'prompts/main.md']);
  expect(git(d, 'diff', '--cached', '--name-only').trim()).toBe('mine.txt');
  const toml = readFileSync(join(d, 'agent-runner.toml'), 'utf8');
  expect(toml).toContain('prompt_delivery = "stdin"');
  expect(toml).toContain('DISABLE_AUTOUPDATER = "1"');
  expect(toml).toContain('"stream-json"');
  expect(readFileSync(join(d, '.gitignore'), 'utf8')).toContain('.agent-runner/');
});

it('refuses to overwrite without --force, and overwrites with it', async () => {
  const d = repo();
  expect((await runCli(['init', '--preset', 'aider'], { cwd: d })).code).toBe(0);
  const again = await runCli(['init', '--preset', 'gemini'], { cwd: d });
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already exists; pass --force/);
  expect(readFileSync(join(d, 'agent-runner.toml'), 'utf8')).toContain('aider');
  expect((await runCli(['init', '--preset', 'gemini', '--force', '--no-commit'], { cwd: d })).code).toBe(0);
  expect(readFileSync(join(d, 'agent-runner.toml'), 'utf8')).toContain('gemini');
});

it('every preset produces a config that loads (doctor gets past the config)', async () => {
  for (const preset of ['claude', 'codex', 'aider', 'gemini', 'demo']) {
    const d = repo();
    expect((await runCli(['init', '--preset', preset, '--no-commit'], { cwd: d })).code).toBe(0);
    const doc = await runCli(['doctor', '--json'], { cwd: d, env: { HOME: d } });
    const findings = JSON.parse(doc.stdout) as { findings: Array<{ check: string; status: string }> };
    expect(findings.findings[0]).toMatchObject({ check: 'config', status: 'ok' });
  }
});

it('outside a git repository: a clear error, nothing written', async () => {
  const d = mkdtempSync(join(tmpdir(), 'ar-init-nogit-'));
  dirs.push(d);
  const r = await runCli(['init'], { cwd: d });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/not a git working tree: run `git init` first/);
  expect(existsSync(join(d, 'agent-runner.toml'))).toBe(false);
});

it('an unknown preset is a usage error naming the choices', async () => {
  const d = repo();
  const r = await runCli(['init', '--preset', 'nope'], { cwd: d });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('aider, claude, codex, demo, gemini');
});
