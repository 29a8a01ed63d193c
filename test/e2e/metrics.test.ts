// Metrics for Prometheus: `agent-runner metrics` checked by promtool, the shipped alerting rules
// checked and unit-tested by promtool, and a real Prometheus (Debian's package, started here on
// loopback with a temporary config and storage) scraping `monitor --listen` and answering queries.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { finish, REPO, runCli, startCli, waitFor, useProjects } from '../helpers/project.js';

const { project, track } = useProjects();
const TEMPLATES = join(REPO, 'templates/prometheus');

const missing = ['promtool', 'prometheus'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const skip = missing.length > 0 && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping the Prometheus e2e: ${missing.join(', ')} not installed (./build.sh test installs the prometheus package)`);

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

function promtool(args: string[], input?: string) {
  return spawnSync('promtool', args, { cwd: TEMPLATES, input, encoding: 'utf8' });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const CLEAN = 'json:{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.25}';

describe.skipIf(skip)('metrics', () => {
  it('agent-runner metrics: rounds by outcome, cost, the duration histogram; promtool check metrics is clean', async () => {
    const p = project({ mode: CLEAN });
    expect((await runCli(['serve', '--max-rounds', '2', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    const r = await runCli(['metrics', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`agent_runner_rounds_total{project="${p.project}",outcome="clean"} 2`);
    expect(r.stdout).toContain(`agent_runner_cost_usd_total{project="${p.project}"} 0.5`);
    expect(r.stdout).toContain(`agent_runner_round_duration_seconds_count{project="${p.project}"} 2`);
    expect(r.stdout).toContain(`agent_runner_halted{project="${p.project}"} 0`);
    expect(r.stdout).toMatch(/agent_runner_last_round_end_timestamp_seconds\{[^}]*\} \d{10}/);
    const check = promtool(['check', 'metrics'], r.stdout);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);

    const om = await runCli(['metrics', '--openmetrics', '--config', p.config], { cwd: p.dir });
    expect(om.stdout).toMatch(/# TYPE agent_runner_rounds counter\n/);
    expect(om.stdout.endsWith('# EOF\n')).toBe(true);
    const file = join(p.dir, 'out', 'agent-runner.prom');
    expect((await runCli(['metrics', '--output', file, '--config', p.config], { cwd: p.dir })).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(r.stdout);
  });

  it('the shipped alerting rules pass promtool check rules and promtool test rules', () => {
    const check = promtool(['check', 'rules', 'alerts.yml']);
    expect(check.stdout).toMatch(/SUCCESS: 6 rules found/);
    expect(check.status).toBe(0);
    const test = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(test.stdout).toMatch(/SUCCESS/);
    expect(test.status).toBe(0);
  });

  it('a real Prometheus scrapes monitor --listen and its API returns the series', async () => {
    const p = project({ mode: CLEAN });
    expect((await runCli(['serve', '--max-rounds', '2', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    const m = track(startCli(['monitor', '--interval', '1', '--listen', '127.0.0.1:0', '--config', p.config], { cwd: p.dir }));
    let stderr = '';
    m.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = Number((await waitFor(() => /serving \/metrics and \/healthz on 127\.0\.0\.1:(\d+)/.exec(stderr), 'the metrics listener'))[1]);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(scraped.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    expect(await scraped.text()).toMatch(/# EOF\n$/);

    const dir = mkdtempSync(join(tmpdir(), 'ar-prom-'));
    tmpDirs.push(dir);
    const promPort = await freePort();
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agent-runner\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
    const prom = track(
      spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] }),
    );
    let promLog = '';
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    const query = async (q: string) => {
      try {
        const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
        return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
      } catch {
        return [];
      }
    };
    let rounds: Awaited<ReturnType<typeof query>> = [];
    const deadline = Date.now() + 60_000;
    while (rounds.length === 0) {
      if (Date.now() > deadline) throw new Error(`Prometheus returned no agent_runner_rounds_total within 60 s:\n${promLog.slice(-2000)}`);
      rounds = await query('agent_runner_rounds_total');
      if (rounds.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(rounds).toEqual([expect.objectContaining({ metric: expect.objectContaining({ project: p.project, outcome: 'clean', job: 'agent-runner' }), value: [expect.any(Number), '2'] })]);
    expect((await query('agent_runner_up'))[0]!.value[1]).toBe('1');
    expect((await query('agent_runner_round_duration_seconds_count'))[0]!.value[1]).toBe('2');
    expect((await query('up{job="agent-runner"}'))[0]!.value[1]).toBe('1');
    prom.kill('SIGTERM');
    await finish(prom);
    m.kill('SIGTERM');
    expect((await finish(m)).code).toBe(0);
  });
});
