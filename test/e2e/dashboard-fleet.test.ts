// The dashboard of a fleet monitor, in a real headless Chromium: `monitor --host a --host b
// --listen` watches two "hosts" (two aliases of one real sshd) and one that is down, and serves a
// card per host × project from what its probes answered, /metrics with host and project labels,
// and a project page that says what a remote project's view lacks.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { listeningPort, useBrowser } from '../helpers/dashboard.js';
import { useFleet } from '../helpers/fleet.js';
import { startCli, useProjects, waitFor } from '../helpers/project.js';
import { sshdUnavailableReason } from '../helpers/sshd.js';

const unavailable = sshdUnavailableReason();
const skip = unavailable !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping the fleet dashboard e2e: ${unavailable}`);

const AUTH_FAIL = 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key · Please run /login"};;exit:1';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe.skipIf(skip)('dashboard of monitor --host a --host b --listen', () => {
  const fleet = useFleet('ar-dfleet');
  const browser = useBrowser();
  const { track } = useProjects();

  it('a card per host × project with state, halt and fix hint; the down host is unknown; /metrics labels host and project', async () => {
    const [a, b] = fleet.hosts;
    const halted = await fleet.remoteProject(AUTH_FAIL, ['serve']);
    const good = await fleet.remoteProject('commit:1', ['round'], 2);
    const m = track(startCli(['monitor', '--host', a, '--host', b, '--host', fleet.downHost, '--interval', '1', '--listen', '127.0.0.1:0'], { cwd: fleet.emptyDir(), env: fleet.env() }));
    const { port, stderr } = await listeningPort(m, /serving \/metrics and \/healthz on 127\.0\.0\.1:(\d+), and the dashboard/);

    const page = await browser.session.open();
    await page.goto(`http://127.0.0.1:${port}/`);
    const card = (host: string, name: string) => page.locator(`article.card:has(.host:text-is("${host}"))`, { hasText: name });
    for (const host of [a, b]) {
      await card(host, halted.project).locator('.halt').waitFor({ timeout: 60_000 });
      await waitFor(async () => /last: round 2 clean/.test((await card(host, good.project).textContent()) ?? ''), `${good.project} on ${host}`, 60_000);
      expect(await card(host, halted.project).getAttribute('data-state')).toBe('halted');
      expect(await card(host, halted.project).locator('.halt').textContent()).toMatch(/Halted: auth_failure.*Fix: log the agent CLI in again on this host; then agent-runner resume/s);
      expect(await card(host, halted.project).textContent()).toMatch(/oauth_fail critical/);
      expect(await card(host, good.project).getAttribute('data-state')).toBe('stopped');
    }
    const down = page.locator(`article.card:has(.host:text-is("${fleet.downHost}"))`);
    await waitFor(async () => (await down.getAttribute('data-state')) === 'unknown', 'the down host\'s card', 60_000);
    expect(await down.textContent()).toMatch(/cannot poll/);
    expect(await page.locator('h1').textContent()).toBe('Projects on 3 hosts');
    await screenshot(page, 'dashboard', 'fleet-overview-desktop');

    // A remote project's page: what the probe says, and plainly what is not here.
    await card(a, good.project).locator('a.name').click();
    await page.locator('.panel.limited').waitFor();
    expect(await page.locator('.panel.limited').textContent()).toMatch(/^remote: limited view\./);
    expect(await page.locator('article.card').textContent()).toMatch(/last: round 2 clean/);
    const id = await page.locator('article.card').getAttribute('data-id');
    const doc = await get(port, `/api/projects/${id}`);
    expect(doc.status).toBe(404);
    expect(JSON.parse(doc.body)).toMatchObject({ error: { code: 'remote_limited' } });
    expect((await get(port, `/api/projects/${id}/rounds/1/log`)).status).toBe(404);

    const metrics = (await get(port, '/metrics')).body;
    for (const host of [a, b]) {
      expect(metrics).toContain(`agent_runner_up{project="${good.project}",host="${host}"} 1`);
      expect(metrics).toContain(`agent_runner_halted{project="${halted.project}",host="${host}"} 1`);
      expect(metrics).toContain(`agent_runner_alert_firing{project="${halted.project}",host="${host}",detector="oauth_fail",severity="critical"} 1`);
      expect(metrics).toMatch(new RegExp(`agent_runner_last_round_end_timestamp_seconds\\{project="${good.project}",host="${host}"\\} \\d{10}`));
    }
    expect(metrics).toContain(`agent_runner_up{project="",host="${fleet.downHost}"} 0`);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect((await get(port, '/healthz')).status).toBe(503);

    m.kill('SIGTERM');
    await waitFor(() => m.exitCode !== null || m.signalCode !== null, 'the monitor to exit', 30_000);
    expect(stderr()).not.toContain('internal error');
  });
  it('a remote round in progress shows on its card as a local one does: elapsed against the timeout as a bar, output age, tool calls, tokens so far', async () => {
    const [a] = fleet.hosts;
    const usage = JSON.stringify({ type: 'assistant', message: { id: 'msg_1', content: [{ type: 'text', text: 'working' }], usage: { input_tokens: 5, output_tokens: 700 } } });
    const { project, round } = fleet.startRemoteRound({ mode: `json:${usage};;tools:2:Edit:notes.md;;sleep:300`, runtime: { round_timeout_s: 600 }, extraToml: '[monitor]\nround_progress_interval_s = 1' });
    track(round);
    const m = track(startCli(['monitor', '--host', a, '--interval', '1', '--listen', '127.0.0.1:0'], { cwd: fleet.emptyDir(), env: fleet.env() }));
    const { port, stderr } = await listeningPort(m, /serving \/metrics and \/healthz on 127\.0\.0\.1:(\d+), and the dashboard/);

    const page = await browser.session.open();
    await page.goto(`http://127.0.0.1:${port}/`);
    const card = page.locator(`article.card:has(.host:text-is("${a}"))`, { hasText: project.project });
    await waitFor(async () => /2 tool calls/.test((await card.textContent()) ?? ''), `the live round of ${project.project} with its tool calls`, 90_000);
    expect(await card.getAttribute('data-state')).toBe('running');
    const text = (await card.textContent()) ?? '';
    expect(text).toMatch(/round 1 .*of 10m 0s/);
    expect(text).toMatch(/last output [\dms ]+ ago · 2 tool calls · 700 tokens so far · cost at the end/);
    expect(await card.locator('.bar .fill').count()).toBe(1);
    await screenshot(page, 'dashboard', 'fleet-live-round-desktop');

    m.kill('SIGTERM');
    await waitFor(() => m.exitCode !== null || m.signalCode !== null, 'the monitor to exit', 30_000);
    expect(stderr()).not.toContain('internal error');
    round.kill('SIGTERM');
    await waitFor(() => round.exitCode !== null || round.signalCode !== null, 'the round to end', 30_000);
  });
});
