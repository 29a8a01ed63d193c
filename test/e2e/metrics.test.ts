// Metrics for Prometheus: `agent-runner metrics` checked by promtool, the shipped alerting rules
// checked and unit-tested by promtool, and a real Prometheus (Debian's package, started here on
// loopback with a temporary config and storage) scraping `monitor --listen` and answering queries.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useFleet } from '../helpers/fleet.js';
import { finish, REPO, runCli, startCli, waitFor, useProjects, type Project } from '../helpers/project.js';
import { freePort, sshdUnavailableReason } from '../helpers/sshd.js';

const { project, track } = useProjects();
const TEMPLATES = join(REPO, 'templates/prometheus');

const missing = ['promtool', 'prometheus'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
const skip = missing.length > 0 && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping the Prometheus e2e: ${missing.join(', ')} not installed (./build.sh test installs the prometheus package)`);
const sshUnavailable = sshdUnavailableReason();
const sshSkip = sshUnavailable !== undefined && process.env['CI'] !== 'true';
if (sshSkip) console.warn(`skipping the fleet metrics e2e: ${sshUnavailable}`);

const tmpDirs: string[] = [];
afterEach(() => {
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
});

function promtool(args: string[], input?: string) {
  return spawnSync('promtool', args, { cwd: TEMPLATES, input, encoding: 'utf8' });
}

const CLEAN = 'json:{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.25}';

describe.skipIf(skip)('metrics', () => {
  it('agent-runner metrics: rounds by outcome, cost, the duration histogram; promtool check metrics is clean', async () => {
    const p = project({ mode: CLEAN });
    expect((await runCli(['serve', '--max-rounds', '2', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    const r = await runCli(['metrics', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`agent_runner_rounds_total{project="${p.project}",host="local",outcome="clean"} 2`);
    expect(r.stdout).toContain(`agent_runner_cost_usd_total{project="${p.project}",host="local"} 0.5`);
    expect(r.stdout).toContain(`agent_runner_round_duration_seconds_count{project="${p.project}",host="local"} 2`);
    expect(r.stdout).toContain(`agent_runner_halted{project="${p.project}",host="local"} 0`);
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

  /** Two registered projects, one clean and one halted on a failed login, and a directory with no config. */
  async function twoRegistered(): Promise<{ a: Project; b: Project; cwd: string }> {
    const a = project({ mode: CLEAN });
    const b = project({ mode: 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1' });
    expect((await runCli(['round', '--config', a.config], { cwd: a.dir })).code).toBe(0);
    expect((await runCli(['serve', '--config', b.config], { cwd: b.dir })).code).toBe(81);
    const cwd = mkdtempSync(join(tmpdir(), 'ar-nocfg-'));
    tmpDirs.push(cwd);
    return { a, b, cwd };
  }

  it('agent-runner metrics without a config: every project of this host\'s registry, each labelled with its project and host="local"', async () => {
    // From a directory with no agent-runner.toml: the registry (`ls`) names both.
    const { a, b, cwd } = await twoRegistered();
    const r = await runCli(['metrics'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`agent_runner_rounds_total{project="${a.project}",host="local",outcome="clean"} 1`);
    expect(r.stdout).toContain(`agent_runner_halted{project="${a.project}",host="local"} 0`);
    expect(r.stdout).toContain(`agent_runner_halted{project="${b.project}",host="local"} 1`);
    expect(r.stdout).toContain(`agent_runner_alert_firing{project="${b.project}",host="local",detector="oauth_fail",severity="critical"} 1`);
    for (const p of [a, b]) expect(r.stdout).toContain(`agent_runner_up{project="${p.project}",host="local"} 1`);
    // Each family is named once, whatever the number of projects.
    expect(r.stdout.match(/^# TYPE agent_runner_up /gm)).toHaveLength(1);
    const check = promtool(['check', 'metrics'], r.stdout);
    expect(check.stdout + check.stderr).toBe('');
    // Nothing here and nothing registered: said in one line, not an empty exposition.
    const none = await runCli(['metrics'], { cwd, env: { XDG_STATE_HOME: join(cwd, 'empty-state') } });
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toEqual([expect.stringContaining('no project registered on this host')]);
  });

  it('monitor --listen without a config watches every registered project: /metrics and the dashboard cover them all', async () => {
    const { a, b, cwd } = await twoRegistered();
    // --once --json: one state line per registered project.
    const once = await runCli(['monitor', '--once', '--json', '--no-auto-stop'], { cwd });
    const states = once.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { project: string; status: string });
    expect(states.filter((s) => s.project === a.project || s.project === b.project).map((s) => [s.project, s.status]).sort()).toEqual([[a.project, 'healthy'], [b.project, 'critical']].sort());

    const m = track(startCli(['monitor', '--interval', '1', '--no-auto-stop', '--listen', '127.0.0.1:0'], { cwd }));
    let stderr = '';
    m.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = Number((await waitFor(() => /serving \/metrics and \/healthz on 127\.0\.0\.1:(\d+), and the dashboard at \/ \(every registered project\)/.exec(stderr), 'the metrics listener', 30_000))[1]);
    const body = await waitFor(async () => {
      const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return t.includes(`agent_runner_halted{project="${b.project}",host="local"} 1`) && t.includes(`agent_runner_up{project="${a.project}",host="local"} 1`) ? t : undefined;
    }, 'both projects polled', 30_000);
    expect(body).toContain(`agent_runner_rounds_total{project="${a.project}",host="local",outcome="clean"} 1`);
    expect(body).toContain(`agent_runner_alert_firing{project="${b.project}",host="local",detector="oauth_fail",severity="critical"} 1`);
    const check = promtool(['check', 'metrics'], body);
    expect(check.stdout + check.stderr).toBe('');
    const cards = (await (await fetch(`http://127.0.0.1:${port}/api/projects`)).json()) as { projects: Array<{ name: string }> };
    expect(cards.projects.map((c) => c.name)).toEqual(expect.arrayContaining([a.project, b.project]));
    m.kill('SIGTERM');
    expect((await finish(m)).code).toBe(0);
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

    const { query, stop } = await startPrometheus(port);
    const rounds = await query('agent_runner_rounds_total', (r) => r.length > 0);
    expect(rounds).toEqual([expect.objectContaining({ metric: expect.objectContaining({ project: p.project, host: 'local', outcome: 'clean', job: 'agent-runner' }), value: [expect.any(Number), '2'] })]);
    expect((await query('agent_runner_up'))[0]!.value[1]).toBe('1');
    expect((await query('agent_runner_round_duration_seconds_count'))[0]!.value[1]).toBe('2');
    expect((await query('up{job="agent-runner"}'))[0]!.value[1]).toBe('1');
    await stop();
    m.kill('SIGTERM');
    expect((await finish(m)).code).toBe(0);
  });

  describe.skipIf(sshSkip)('a fleet', () => {
    const fleet = useFleet('ar-mfleet');

    it('monitor --host a --host b --listen: Prometheus gets every host × project, up 0 for a host that is down', async () => {
      const [a, b] = fleet.hosts;
      const good = await fleet.remoteProject(CLEAN, ['round'], 1);
      const m = track(startCli(['monitor', '--host', a, '--host', b, '--host', fleet.downHost, '--interval', '1', '--listen', '127.0.0.1:0'], { cwd: fleet.emptyDir(), env: fleet.env() }));
      let stderr = '';
      m.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const port = Number((await waitFor(() => /serving \/metrics and \/healthz on 127\.0\.0\.1:(\d+)/.exec(stderr), 'the metrics listener', 30_000))[1]);
      const { query, stop } = await startPrometheus(port);
      const up = await query('agent_runner_up', (r) => r.length >= 3 && r.some((x) => x.value[1] === '1' && x.metric['host'] === a) && r.some((x) => x.value[1] === '1' && x.metric['host'] === b));
      const byHost = Object.fromEntries(up.filter((x) => x.metric['project'] === good.project || x.metric['host'] === fleet.downHost).map((x) => [x.metric['host'], x.value[1]]));
      expect(byHost).toEqual({ [a]: '1', [b]: '1', [fleet.downHost]: '0' });
      const ended = await query(`agent_runner_last_round_end_timestamp_seconds{project="${good.project}"}`, (r) => r.length === 2);
      expect(ended.map((x) => x.metric['host']).sort()).toEqual([a, b]);
      expect((await query('agent_runner_halted{host="' + a + '",project="' + good.project + '"}'))[0]!.value[1]).toBe('0');
      const check = promtool(['check', 'metrics'], await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(check.stdout + check.stderr).toBe('');
      await stop();
      m.kill('SIGTERM');
      await finish(m);
    });
  });
});

type Series = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** A real Prometheus scraping 127.0.0.1:port every second, with a temporary config and storage. */
async function startPrometheus(port: number): Promise<{ query(q: string, until?: (r: Series) => boolean): Promise<Series>; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'ar-prom-'));
  tmpDirs.push(dir);
  const promPort = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agent-runner\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
  const prom = track(
    spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
  let promLog = '';
  prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
  const once = async (q: string): Promise<Series> => {
    try {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      return ((await res.json()) as { data: { result: Series } }).data.result;
    } catch {
      return [];
    }
  };
  return {
    /** The query's answer once `until` holds (default: any series), polled with a deadline. */
    async query(q, until = (r) => r.length > 0) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = await once(q);
        if (until(r)) return r;
        if (Date.now() > deadline) throw new Error(`Prometheus did not answer ${q} as expected within 60 s (last: ${JSON.stringify(r)}):\n${promLog.slice(-2000)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    async stop() {
      prom.kill('SIGTERM');
      await finish(prom);
    },
  };
}
