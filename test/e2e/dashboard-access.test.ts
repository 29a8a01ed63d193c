// Who may see the dashboard and act through it, against the built CLI: loopback needs no token
// but a loopback Host; any other address needs the token (made on first use, 0600) as a bearer
// header or a cookie from a one-time URL; actions need --allow-actions and the CSRF token. The
// JSON API serves peek's document and round logs a page at a time.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useBrowser } from '../helpers/dashboard.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { runCli, startCli, useProjects, waitFor, type Project } from '../helpers/project.js';

const { project, track } = useProjects();
const TOKEN_FILE = join(process.env['XDG_STATE_HOME']!, 'agent-runner', 'dashboard-token');
const browser = useBrowser();
const forgive = (status: number) => browser.forgive(status);

async function startDashboard(p: Project, listen: string, ...args: string[]): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = track(startCli(['dashboard', '--listen', listen, '--config', p.config, ...args], { cwd: p.dir }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = Number(await waitFor(() => /dashboard on http:\/\/\S+:(\d+)\//.exec(stderr)?.[1], 'the dashboard to listen'));
  return { child, port, stderr: () => stderr };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (fetch would not let a test send its own Host). */
function call(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard access', () => {
  it('off loopback every request needs the token: made 0600 on first use, as a bearer header or a cookie from a one-time URL', async () => {
    const p = project();
    expect(existsSync(TOKEN_FILE)).toBe(false);
    const d = await startDashboard(p, '0.0.0.0:0');
    expect(statSync(TOKEN_FILE).mode & 0o777).toBe(0o600);
    const token = (await import('node:fs')).readFileSync(TOKEN_FILE, 'utf8').trim();
    // Its own line, after the one the start-up waits for: it may come in a later chunk.
    await waitFor(() => /log in once at \S+\n/.test(d.stderr()), 'the token line');
    expect(d.stderr()).toContain(`token in ${TOKEN_FILE} (made now)`);

    expect((await call(d.port, '/api/projects')).status).toBe(401);
    expect((await call(d.port, '/')).status).toBe(401);
    expect((await call(d.port, '/api/projects', { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    const ok = await call(d.port, '/api/projects', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { projects: Array<{ name: string }> }).projects.map((x) => x.name)).toEqual([p.project]);

    // In a browser: refused without the token; the one-time URL logs it in once.
    const page = await browser.session.open();
    const refused = await page.goto(`http://127.0.0.1:${d.port}/`);
    expect(refused?.status()).toBe(401);
    expect(await page.textContent('body')).toMatch(/a token is required/);
    forgive(401);
    const login = /log in once at http:\/\/\S+?:\d+(\/login\?code=\S+)/.exec(d.stderr())![1]!;
    await page.goto(`http://127.0.0.1:${d.port}${login}`);
    await page.locator('article.card').waitFor();
    expect(await page.locator('article.card .name').textContent()).toBe(p.project);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'agent_runner_dashboard');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // The URL works once.
    expect((await call(d.port, login)).status).toBe(401);
    d.child.kill('SIGTERM');
    await waitFor(() => d.child.exitCode !== null, 'the dashboard to exit');
    expect(d.child.exitCode).toBe(0);
  });

  it('refuses to start off loopback when the token file is readable by others: one line, exit 78', async () => {
    const p = project();
    mkdirSync(join(process.env['XDG_STATE_HOME']!, 'agent-runner'), { recursive: true });
    writeFileSync(TOKEN_FILE, 'a-token-that-others-can-read-0123456789\n');
    chmodSync(TOKEN_FILE, 0o644);
    const r = await runCli(['dashboard', '--listen', '0.0.0.0:0', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`${TOKEN_FILE}: the dashboard token is readable by others (mode 0644); run \`chmod 600 ${TOKEN_FILE}\``);
    chmodSync(TOKEN_FILE, 0o600);
    // Loopback needs no token at all.
    const d = await startDashboard(p, '127.0.0.1:0');
    expect((await call(d.port, '/api/projects')).status).toBe(200);
  });

  it('on loopback a Host that is not a loopback name is refused (DNS rebinding)', async () => {
    const p = project();
    const d = await startDashboard(p, '127.0.0.1:0');
    expect((await call(d.port, '/api/projects', { headers: { host: 'attacker.example:80' } })).status).toBe(421);
    expect((await call(d.port, '/api/projects', { headers: { host: `localhost:${d.port}` } })).status).toBe(200);
  });

  it('actions are refused without --allow-actions, and without the CSRF token when allowed', async () => {
    const p = project({ mode: 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1' });
    expect((await runCli(['serve', '--config', p.config], { cwd: p.dir })).code).toBe(81);
    const ro = await startDashboard(p, '127.0.0.1:0');
    const page = await browser.session.open();
    await page.goto(`http://127.0.0.1:${ro.port}/`);
    await page.locator('article.card .halt').waitFor();
    expect(await page.locator('button[data-action]').count()).toBe(0);
    const id = await page.locator('article.card').getAttribute('data-id');
    const answer = await page.evaluate(async (path) => {
      const r = await fetch(path, { method: 'POST' });
      return { status: r.status, body: (await r.json()) as { error: { code: string } } };
    }, `/api/projects/${id}/actions/resume`);
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'read_only' } } });
    forgive(403);
    expect(existsSync(join(p.logDir, 'halt.json'))).toBe(true);
    ro.child.kill('SIGTERM');
    await browser.session.closePages();

    const rw = await startDashboard(p, '127.0.0.1:0', '--allow-actions');
    expect((await call(rw.port, `/api/projects/${id}/actions/resume`, { method: 'POST' })).status).toBe(403);
    const forged = await call(rw.port, `/api/projects/${id}/actions/resume`, { method: 'POST', headers: { 'x-csrf-token': 'guess' } });
    expect(JSON.parse(forged.body)).toMatchObject({ error: { code: 'csrf' } });
    const page2 = await browser.session.open();
    await page2.goto(`http://127.0.0.1:${rw.port}/`);
    await page2.locator('button[data-action="resume"]').click();
    await waitFor(async () => /cleared halt \(auth_failure\)/.test((await page2.locator('.action-note').textContent()) ?? ''), 'the resume to be reported', 30_000);
    expect(existsSync(join(p.logDir, 'halt.json'))).toBe(false);
    // The card follows on its own: the halt is gone without a reload.
    await waitFor(async () => (await page2.locator('article.card .halt').count()) === 0, 'the halt to leave the card', 30_000);
  });
});

describe('dashboard JSON API', () => {
  it('/api/projects/:id is peek --json\'s document, and a round log is served a page at a time', async () => {
    const p = project({ mode: 'flood:200000' });
    expect((await runCli(['round', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    const d = await startDashboard(p, '127.0.0.1:0');
    const list = JSON.parse((await call(d.port, '/api/projects')).body) as { projects: Array<{ id: string }> };
    const id = list.projects[0]!.id;
    const doc = JSON.parse((await call(d.port, `/api/projects/${id}`)).body) as Record<string, unknown>;
    const peek = JSON.parse((await runCli(['peek', '--json', '--config', p.config], { cwd: p.dir })).stdout) as Record<string, unknown>;
    // The same contract as peek --json: docs/schemas/peek.schema.json.
    assertMatchesSchema('peek', doc);
    expect(Object.keys(doc).sort()).toEqual(Object.keys(peek).sort());
    expect(doc['recent_rounds']).toEqual(peek['recent_rounds']);
    expect(doc['schema_version']).toBe(peek['schema_version']);

    let offset: number | null = 0;
    let pages = 0;
    let size = 0;
    let covered = 0;
    while (offset !== null) {
      const page = JSON.parse((await call(d.port, `/api/projects/${id}/rounds/1/log?offset=${offset}`)).body) as { offset: number; next_offset: number | null; size: number };
      expect(page.offset).toBe(offset);
      size = page.size;
      covered = page.next_offset ?? page.size;
      expect(covered - page.offset).toBeLessThanOrEqual(64 * 1024);
      offset = page.next_offset;
      pages++;
    }
    expect(size).toBeGreaterThanOrEqual(200000);
    expect(covered).toBe(size);
    expect(pages).toBeGreaterThanOrEqual(4);
    expect((await call(d.port, `/api/projects/${id}/rounds/1/log?offset=-5`)).status).toBe(400);
    expect((await call(d.port, `/api/projects/${id}/rounds/99/log`)).status).toBe(404);
  });
});

describe('dashboard in monitor --listen', () => {
  it('one monitor process serves /metrics and the dashboard, read-only', async () => {
    const p = project();
    expect((await runCli(['round', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    const m = track(startCli(['monitor', '--interval', '1', '--listen', '127.0.0.1:0', '--config', p.config], { cwd: p.dir }));
    let stderr = '';
    m.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = Number((await waitFor(() => /serving \/metrics and \/healthz on 127\.0\.0\.1:(\d+), and the dashboard at \//.exec(stderr), 'the listener'))[1]);
    expect((await call(port, '/metrics')).body).toMatch(/^agent_runner_/m);
    const list = JSON.parse((await call(port, '/api/projects')).body) as { projects: Array<{ id: string; name: string; last_round: { outcome: string } }> };
    expect(list.projects).toMatchObject([{ name: p.project, last_round: { outcome: 'clean' } }]);
    expect((await call(port, '/')).headers['content-type']).toMatch(/text\/html/);
    expect((await call(port, `/api/projects/${list.projects[0]!.id}/actions/stop`, { method: 'POST' })).status).toBe(403);
  });
});
