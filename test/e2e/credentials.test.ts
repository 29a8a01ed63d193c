import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds, readEvents, recordedPids, runCli, useProjects, type Project } from '../helpers/project.js';

// The agent's stored login, read ahead of failure: a real credentials file in Claude's layout.

const { project } = useProjects();
const TOKEN = 'sk-ant-oat01-NEVER-PRINT-THIS';

/**
 * A project whose agent is named claude, with its credentials file expiring at `expiresAtMs`: a
 * login that cannot renew itself (no refresh token, as in anthropics/claude-code#37402) unless
 * `renewable`.
 */
function claudeProject(expiresAtMs: number, renewable = false): Project {
  const p = project({ mode: 'commit:1' });
  const home = join(p.dir, 'out', 'claude-home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, '.credentials.json'), JSON.stringify({ claudeAiOauth: { accessToken: TOKEN, ...(renewable ? { refreshToken: `${TOKEN}-refresh` } : {}), expiresAt: expiresAtMs, scopes: ['user:inference'] } }));
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

  it('an expired login stops the round before the agent is spawned (exit 15, an auth failure), and serve halts on it as one (exit 81)', async () => {
    const p = claudeProject(Date.now() - 60_000);
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(15);
    expect(r.stderr).toMatch(/login_not_expired.*expired at .*log the claude CLI in again/);
    expect(r.stderr).not.toContain(TOKEN);
    expect(recordedPids(p)).toEqual([]);
    expect(kinds(readEvents(p.logDir))).not.toContain('agent_spawn');
    const s = await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(s.code).toBe(81);
    expect(s.stderr).toMatch(/halted \(auth_failure\).*log the claude CLI in again on this host, then run `agent-runner resume`/);
    expect(recordedPids(p)).toEqual([]);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'auth_failure_halt')).toMatchObject({ consecutive: 0, round_num: null });
    expect(ev.find((e) => e.event === 'halt_recorded')).toMatchObject({ reason: 'auth_failure', exit_code: 81 });
    expect(JSON.parse(readFileSync(join(p.logDir, 'halt.json'), 'utf8'))).toMatchObject({ reason: 'auth_failure' });
    expect(JSON.stringify(readEvents(p.logDir))).not.toContain(TOKEN);
    // The next start is refused with the same way out, said once.
    const again = await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(again.code).toBe(85);
    expect(again.stderr.match(/agent-runner resume/g)).toHaveLength(1);
  });

  it('the credentials_expiring detector: a warning within 24 h, critical once expired, resolved when the login is renewed', async () => {
    const p = claudeProject(Date.now() + 3 * 3600 * 1000);
    const credentials = join(p.dir, 'out', 'claude-home', '.credentials.json');
    const writeExpiry = (ms: number) => writeFileSync(credentials, JSON.stringify({ claudeAiOauth: { accessToken: TOKEN, expiresAt: ms, scopes: ['user:inference'] } }));
    type Alert = { detector: string; state: string; severity: string; message: string; new: boolean; context: Record<string, unknown> };
    const once = async () => {
      const r = await runCli(['monitor', '--once', '--json', '--config', p.config], { cwd: p.dir });
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      const line = JSON.parse(r.stdout.trim().split('\n')[0]!) as { alerts: Alert[] };
      return { code: r.code, alerts: line.alerts.filter((a) => a.detector === 'credentials_expiring') };
    };
    const soon = await once();
    expect(soon.code).toBe(1);
    expect(soon.alerts).toEqual([expect.objectContaining({ state: 'firing', severity: 'warning', new: true, context: expect.objectContaining({ cli: 'claude', file: credentials, expired: false }) })]);
    expect(soon.alerts[0]!.message).toMatch(/claude login in .* expires at .*\(in 3 h\)/);

    writeExpiry(Date.now() - 60_000);
    const gone = await once();
    expect(gone.code).toBe(2);
    expect(gone.alerts.find((a) => a.state === 'firing')).toMatchObject({ severity: 'critical', context: expect.objectContaining({ expired: true }) });

    writeExpiry(Date.now() + 30 * 86400 * 1000);
    const renewed = await once();
    expect(renewed.code).toBe(0);
    expect(renewed.alerts).toEqual([expect.objectContaining({ state: 'resolved', new: true })]);
  });

  it('an expired access token beside a refresh token is not an expired login: the round runs, doctor says it renews itself, the monitor is quiet', async () => {
    const p = claudeProject(Date.now() - 3600_000, true);
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(kinds(readEvents(p.logDir))).toContain('agent_spawn');
    const doc = JSON.parse((await runCli(['doctor', '--json', '--config', p.config], { cwd: p.dir })).stdout) as { findings: Array<{ check: string; status: string; detail: string }> };
    expect(doc.findings.find((f) => f.check === 'login_expiry')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/claude login renews itself .*access token expired at/) });
    expect(doc.findings.find((f) => f.check === 'login_not_expired')).toBeUndefined();
    const m = await runCli(['monitor', '--once', '--json', '--config', p.config], { cwd: p.dir });
    expect(m.stdout).not.toContain('credentials_expiring');
    expect(m.stdout + m.stderr + r.stderr).not.toContain(TOKEN);
  });
});
