// Files are private, secrets stay out of every record, and nothing from a config or a path is
// ever spliced into a shell string.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LONG_PROMPT, runCli, useProjects,
} from '../helpers/project.js';

const { project } = useProjects();

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('file modes', () => {
  it('log dir 0700; every state file, event file and round log 0600', async () => {
    const p = project({ mode: 'dirty', runtime: { crash_loop_threshold: 1 } });
    expect((await runCli(['serve', '--max-rounds', '1', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    await runCli(['start', '--config', p.config], { cwd: p.dir });
    await runCli(['stop', '--config', p.config], { cwd: p.dir });
    expect(statSync(p.logDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(p.logDir, 'rounds')).mode & 0o777).toBe(0o700);
    const files = allFiles(p.logDir);
    expect(files.map((f) => f.slice(p.logDir.length + 1))).toEqual(expect.arrayContaining(['status.json', 'round-counter.json', 'round-context.json', 'orphan-state.json', 'loop-state.json', 'agent-runner.lock', 'serve.log']));
    for (const f of files) expect([f, statSync(f).mode & 0o777]).toEqual([f, 0o600]);
  });
});

describe('secrets', () => {
  const SECRET = 'sk-ant-api03-SECRETVALUE-abcdefghijklmnop';
  const GH = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

  it('an [agent.env] value and token shapes never reach events, status, round-context, peek or status --json', async () => {
    const result = `{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"auth failed for key ${SECRET} and token ${GH} Authorization: Bearer abcdefghijklmnopqrstuv"}`;
    const p = project({ mode: `text:using ${SECRET};;json:${result};;exit:1`, agentEnv: { ANTHROPIC_API_KEY: SECRET } });
    expect((await runCli(['round', '--config', p.config], { cwd: p.dir })).code).toBe(15);
    // The next round's context carries the previous round's facts: still no secret.
    expect((await runCli(['round', '--config', p.config], { cwd: p.dir })).code).toBe(15);
    const records = [
      ...readdirSync(p.logDir).filter((n) => /\.(json|jsonl)$/.test(n)).map((n) => readFileSync(join(p.logDir, n), 'utf8')),
      (await runCli(['peek', '--json', '--events', '50', '--config', p.config], { cwd: p.dir })).stdout,
      (await runCli(['status', '--json', '--config', p.config], { cwd: p.dir })).stdout,
    ];
    const all = records.join('\n');
    expect(all).toContain('transient_error_detected');
    expect(all).toContain('[REDACTED]');
    expect(all).not.toContain(SECRET);
    expect(all).not.toContain(GH);
    expect(all).not.toContain('abcdefghijklmnopqrstuv');
    // The raw round log keeps what the agent printed (it is 0600, like the log dir).
    const log = readdirSync(join(p.logDir, 'rounds'))[0]!;
    expect(readFileSync(join(p.logDir, 'rounds', log), 'utf8')).toContain(SECRET);
  });
});

describe('no shell injection', () => {
  it('shell metacharacters in paths and config values are data, never code', async () => {
    const p = project({ mode: 'ok', runtime: { log_dir: '.agent-runner/logs $(touch PWNED-LOG) `touch PWNED-TICK`' } });
    const weird = 'p; touch PWNED-SEMI $(touch PWNED-SUB).md';
    writeFileSync(join(p.dir, weird), LONG_PROMPT);
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace('file = "prompt.md"', `file = ${JSON.stringify(weird)}`));
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    const d = await runCli(['doctor', '--config', p.config], { cwd: p.dir });
    expect(d.stdout).toContain('prompt_files_exist: ok');
    const units = await runCli(['install', '--dry-run', '--config', p.config], { cwd: p.dir });
    expect(units.code).toBe(0);
    for (const where of [p.dir, join(p.dir, '.agent-runner'), process.cwd()]) {
      if (existsSync(where)) expect(readdirSync(where).filter((n) => n.startsWith('PWNED'))).toEqual([]);
    }
    expect(existsSync(join(p.dir, '.agent-runner', 'logs $(touch PWNED-LOG) `touch PWNED-TICK`', 'status.json'))).toBe(true);
  });

  it('an agent command with metacharacters is one argv element, not a shell line', async () => {
    const p = project();
    mkdirSync(join(p.dir, 'bin'));
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/^command = .*$/m, 'command = ["true; touch PWNED-CMD"]'));
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('agent_cli_in_path');
    expect(readdirSync(p.dir).filter((n) => n.startsWith('PWNED'))).toEqual([]);
  });
});
