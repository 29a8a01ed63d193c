import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds, readEvents, recordedPids, runCli, useProjects, type Project } from '../helpers/project.js';

// The agent's stored login, read ahead of failure: a real credentials file in Claude's layout.

const { project } = useProjects();
const TOKEN = 'sk-ant-oat01-NEVER-PRINT-THIS';

/** A project whose agent is named claude, with its credentials file expiring at `expiresAtMs`. */
function claudeProject(expiresAtMs: number): Project {
  const p = project({ mode: 'commit:1' });
  const home = join(p.dir, 'out', 'claude-home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.credentials.json'), JSON.stringify({ claudeAiOauth: { accessToken: TOKEN, refreshToken: `${TOKEN}-refresh`, expiresAt: expiresAtMs, scopes: ['user:inference'] } }));
  writeFileSync(p.config, readFileSync(p.config, 'utf8').replace('[agent]\n', '[agent]\nname = "claude"\n').replace('[agent.env]\n', `[agent.env]\nCLAUDE_CONFIG_DIR = ${JSON.stringify(home)}\n`));
  return p;
}

describe('credentials ahead of failure', () => {
  it('doctor warns of a login expiring within 24 h, without printing the token', async () => {
    const p = claudeProject(Date.now() + 3 * 3600 * 1000);
    const r = await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir });
    const doc = JSON.parse(r.stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
    expect(doc.findings.find((f) => f.check === 'login_expiry')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/claude login .* expires at .*within 24 h/) });
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    const far = claudeProject(Date.now() + 30 * 86400 * 1000);
    const ok = JSON.parse((await runCli(['doctor', '--json', '--config', far.config], { cwd: far.dir })).stdout) as typeof doc;
    expect(ok.findings.find((f) => f.check === 'login_expiry')).toMatchObject({ status: 'ok' });
  });

  it('an expired login stops the round before the agent is spawned (exit 78), and serve halts on it', async () => {
    const p = claudeProject(Date.now() - 60_000);
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/login_not_expired.*expired at/);
    expect(r.stderr).not.toContain(TOKEN);
    expect(recordedPids(p)).toEqual([]);
    expect(kinds(readEvents(p.logDir))).not.toContain('agent_spawn');
    const s = await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(s.code).toBe(78);
    expect(recordedPids(p)).toEqual([]);
    expect(kinds(readEvents(p.logDir))).toContain('halt_recorded');
    expect(JSON.stringify(readEvents(p.logDir))).not.toContain(TOKEN);
  });
});
