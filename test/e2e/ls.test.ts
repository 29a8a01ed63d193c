import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertMatchesSchema } from '../helpers/schema.js';
import { readJson, recordedPids, runCli, startCli, waitFor, type Project, useProjects } from '../helpers/project.js';

// `ls` lists every project agent-runner ran on this host, from the per-user registry that init,
// round, serve, start and install write. Each test has its own $XDG_STATE_HOME, so its registry
// holds exactly the projects it made.

const { project, track } = useProjects();
const scratch = mkdtempSync(join(tmpdir(), 'ar-ls-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

const freshState = () => ({ XDG_STATE_HOME: mkdtempSync(join(scratch, 'state-')) });
const COSTLY_COMMIT = 'commit:1;;json:{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.25}';

async function ls(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Doc> {
  const r = await runCli(['ls', '--json', ...args], { env });
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as Doc;
  assertMatchesSchema('ls', doc);
  return doc;
}

const row = (doc: Doc, p: Project): Doc => doc['projects'].find((x: Doc) => x['config'] === p.config);

/** Every file under dir with its size and mtime: what "ls wrote nothing here" is checked against. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, n.name);
      if (n.isDirectory()) {
        if (n.name !== '.git') walk(f);
      } else {
        const s = statSync(f);
        out.push(`${relative(dir, f)} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

describe('ls', () => {
  it('lists three projects, one deleted: halted with its spend, one running a round, one missing; --prune forgets the missing one', async () => {
    const env = freshState();
    // Any host has less free memory than this: a monitor of the project raises mem_pressure.
    const halted = project({ mode: COSTLY_COMMIT, runtime: { max_cost_usd: 0.1 }, extraToml: '[monitor.host_health]\nmem_avail_min_mb = 100000000' });
    const busy = project({ mode: 'sleep:300' });
    const gone = project({ mode: 'ok' });

    expect((await runCli(['serve', '--config', halted.config], { cwd: halted.dir, env, timeoutMs: 90_000 })).code).toBe(82);
    expect((await runCli(['monitor', '--once', '--config', halted.config], { cwd: halted.dir, env })).code).toBe(1);
    expect((await runCli(['round', '--config', gone.config], { cwd: gone.dir, env })).code).toBe(0);
    const serve = track(startCli(['serve', '--config', busy.config], { cwd: busy.dir, env }));
    await waitFor(() => recordedPids(busy).length > 0 && readJson(join(busy.logDir, 'status.json'))['running'] === true, 'the busy project\'s round running');
    rmSync(gone.dir, { recursive: true, force: true });

    // (The busy project's own serve keeps writing; the halted one has nothing running.)
    const before = snapshot(halted.dir);
    const doc = await ls(env);
    expect(snapshot(halted.dir), 'ls writes nothing into a project').toEqual(before);

    expect(doc['projects']).toHaveLength(3);
    expect(doc['agent_runner_version']).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).version);
    expect(doc['host']).toBe(execFileSync('hostname').toString().trim());
    expect(row(doc, halted)).toMatchObject({
      name: halted.project,
      path: halted.dir,
      presence: 'ok',
      service: { state: 'not_installed', mode: 'none' },
      current_round: null,
      last_round: { round_num: 1, outcome: 'clean', cost_usd: 0.25 },
      halt: { reason: 'budget' },
      alerts: [expect.objectContaining({ detector: 'mem_pressure', severity: 'warning' })],
      cost_today_usd: 0.25,
    });
    expect(row(doc, busy)).toMatchObject({ presence: 'ok', service: { state: 'running', mode: 'pid-file', pid: serve.pid }, current_round: { round_num: 1 }, last_round: null, halt: null, alerts: [] });
    expect(row(doc, gone)).toMatchObject({ name: gone.project, presence: 'missing', service: null, cost_today_usd: null });

    const human = await runCli(['ls'], { env });
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SERVICE\s+ROUND\s+LAST\s+HALT\s+ALERTS\s+TODAY\s+PATH$/);
    expect(lines.find((l) => l.startsWith(halted.project))).toMatch(/not installed\s+-\s+R1 clean\s+budget\s+1 warning\s+\$0\.25\s/);
    expect(lines.find((l) => l.startsWith(busy.project))).toMatch(/running\s+R1 \d+s\s/);
    expect(lines.find((l) => l.startsWith(gone.project))).toContain('missing');
    expect(human.stdout).toContain(`${gone.project}: ${gone.config} no longer exists; \`agent-runner ls --prune\` forgets it`);

    const pruned = await ls(env, '--prune');
    expect(pruned['pruned']).toEqual([gone.config]);
    expect(pruned['projects'].map((p: Doc) => p['config']).sort()).toEqual([halted.config, busy.config].sort());
    expect((await ls(env))['projects']).toHaveLength(2);
  });

  it('parallel rounds in many projects all get recorded', async () => {
    const env = freshState();
    const ps = Array.from({ length: 6 }, () => project({ mode: 'ok' }));
    const results = await Promise.all(ps.map((p) => runCli(['round', '--config', p.config], { cwd: p.dir, env, timeoutMs: 90_000 })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const doc = await ls(env);
    expect(doc['projects'].map((p: Doc) => p['config']).sort()).toEqual(ps.map((p) => p.config).sort());
    for (const p of doc['projects']) expect(p).toMatchObject({ presence: 'ok', last_round: { round_num: 1, outcome: 'clean' } });
    // One private file per project, readable by the user alone.
    const dir = join(env.XDG_STATE_HOME, 'agent-runner', 'projects');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(6);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('init records the project under its directory\'s name; a second round keeps first_seen', async () => {
    const env = freshState();
    const dir = mkdtempSync(join(scratch, 'fresh-'));
    execFileSync('git', ['init', '-q', dir]);
    const init = await runCli(['init', '--preset', 'demo', '--no-commit'], { cwd: dir, env });
    expect(init.code, init.stderr).toBe(0);
    const first = (await ls(env))['projects'];
    expect(first).toEqual([expect.objectContaining({ name: dir.split('/').pop(), path: dir, config: join(dir, 'agent-runner.toml'), presence: 'ok' })]);
    expect((await runCli(['round'], { cwd: dir, env })).code).toBe(0);
    const second = (await ls(env))['projects'][0];
    expect(second['first_seen']).toBe(first[0]['first_seen']);
    expect(Date.parse(second['last_seen'])).toBeGreaterThan(Date.parse(first[0]['last_seen']));
  });

  it('a registry that cannot be written costs one warning line, never the verb', async () => {
    const notADir = join(scratch, 'state-is-a-file');
    writeFileSync(notADir, '');
    const p = project({ mode: 'ok' });
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir, env: { XDG_STATE_HOME: notADir } });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('project registry'));
    expect(warnings).toEqual([`agent-runner: warning: could not record ${p.project} in the project registry (ENOTDIR); \`agent-runner ls\` will not list it`]);
  });

  it('with nothing recorded, and with a foreign file in the registry: says so, and --prune removes the file', async () => {
    const env = freshState();
    const empty = await runCli(['ls'], { env });
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^no project recorded on .+ yet/);
    expect((await ls(env))['projects']).toEqual([]);

    const dir = join(env.XDG_STATE_HOME, 'agent-runner', 'projects');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'junk.json'), '{"half": ');
    const withJunk = await runCli(['ls'], { env });
    expect(withJunk.code).toBe(0);
    expect(withJunk.stderr).toContain(`warning: ${join(dir, 'junk.json')} is not a project entry`);
    expect((await ls(env))['problems']).toEqual([expect.objectContaining({ file: join(dir, 'junk.json') })]);
    await ls(env, '--prune');
    expect(readdirSync(dir)).toEqual([]);
  });
});
