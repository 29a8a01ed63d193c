import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/http-receiver.js';
import { CLI, finish, makeProject, runCli, startCli, waitFor, type Project } from '../helpers/project.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { secondAlias, sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';

// `monitor --host ALIAS` with nothing else: the host's own registry (`agent-runner ls --json`
// there) says what to watch. A real sshd on 127.0.0.1 plays the remote; a second alias of it
// plays a second host.

const unavailable = sshdUnavailableReason();
const skip = unavailable !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping fleet monitor e2e: ${unavailable}`);

const ALIAS = 'ar-fleet-a';
const ALIAS2 = 'ar-fleet-b';
const COST_JSON = 'json:{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.25}';
const AUTH_JSON = 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1';

interface Line {
  host: string | null;
  project?: string | null;
  detector: string;
  severity: string;
  state: string;
  message: string;
}

describe.skipIf(skip)('monitor --host watches what the host registered', () => {
  let sshd: TestSshd;
  let remoteHome: string;
  let remoteState: string;
  let localHome: string;
  let sshConfig: string;
  const projects: Project[] = [];

  beforeAll(async () => {
    remoteHome = mkdtempSync(join(tmpdir(), 'ar-rhome-'));
    remoteState = join(remoteHome, 'state');
    localHome = mkdtempSync(join(tmpdir(), 'ar-lhome-'));
    sshd = await startSshd({ alias: ALIAS, env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: remoteHome, XDG_STATE_HOME: remoteState } });
    // A second "host": another alias of the same sshd.
    sshConfig = join(localHome, 'ssh_config');
    writeFileSync(sshConfig, readFileSync(sshd.configFile, 'utf8') + secondAlias(sshd, ALIAS2));
  });

  const receivers: Receiver[] = [];
  afterEach(async () => {
    for (const p of projects.splice(0)) p.cleanup();
    for (const r of receivers.splice(0)) await r.close();
  });

  afterAll(async () => {
    await sshd?.stop();
    for (const d of [remoteHome, localHome]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** A project that ran on the "remote": its rounds record it in the remote's registry. */
  async function remoteProject(mode: string, rounds: number): Promise<Project> {
    const p = makeProject({ mode });
    projects.push(p);
    for (let i = 0; i < rounds; i++) await runCli(['round', '--config', p.config], { cwd: p.dir, env: { XDG_STATE_HOME: remoteState } });
    return p;
  }

  const env = (remoteCmd = `${process.execPath} ${CLI}`) => ({ HOME: localHome, XDG_RUNTIME_DIR: join(localHome, 'run'), XDG_STATE_HOME: join(localHome, 'state'), AGENT_RUNNER_SSH_CONFIG: sshConfig, AGENT_RUNNER_REMOTE_CMD: remoteCmd });

  /** From an empty directory with no config, no flag but the hosts (ssh config and remote program come from the environment). */
  async function monitor(args: string[], remoteCmd?: string) {
    const cwd = mkdtempSync(join(localHome, 'empty-'));
    const r = await runCli(['monitor', ...args], { cwd, env: env(remoteCmd) });
    expect(r.stderr).not.toContain('internal error');
    // `--once --json`: one state line per host × project; the tests look at the alerts in them.
    const states = args.includes('--json') ? r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { host: string; project: string | null; alerts: Line[] }) : [];
    for (const st of states) assertMatchesSchema('monitor-line', st);
    const lines = states.flatMap((st) => st.alerts.map((a) => ({ ...a, project: st.project })));
    return { code: r.code, stderr: r.stderr, stdout: r.stdout, lines };
  }

  const accepted = () => sshd.log().split('Accepted publickey').length - 1;

  it('zero flags: every registered project on the host, each line naming host and project; --project narrows', async () => {
    const bad = await remoteProject(AUTH_JSON, 2);
    const good = await remoteProject('ok', 1);
    const before = accepted();
    const m = await monitor(['--host', ALIAS, '--once', '--json']);
    const states = m.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { host: string; project: string; status: string });
    expect(states.map((st) => [st.host, st.project, st.status]).sort()).toEqual([[ALIAS, bad.project, 'critical'], [ALIAS, good.project, 'healthy']].sort());
    const firing = m.lines.filter((l) => l.state === 'firing');
    expect(firing.map((l) => [l.host, l.project, l.detector])).toEqual([[ALIAS, bad.project, 'oauth_fail']]);
    expect(m.code).toBe(2);
    // The listing and both probes rode one connection.
    expect(accepted() - before).toBe(1);

    const narrowed = await monitor(['--host', ALIAS, '--project', good.project, '--once', '--json']);
    expect(narrowed.lines.filter((l) => l.state === 'firing')).toEqual([]);
    expect(narrowed.code).toBe(0);

    const human = await monitor(['--host', ALIAS, '--project', bad.project, '--once']);
    expect(human.stdout).toContain(`${ALIAS} ${bad.project}: critical`);
  });

  it('--once: one remote process per host both lists the projects and probes them', async () => {
    const bad = await remoteProject(AUTH_JSON, 2);
    await remoteProject('ok', 1);
    // The remote program, wrapped to record how it is invoked.
    const calls = join(remoteHome, 'calls.log');
    const wrapper = join(remoteHome, 'counting-agent-runner');
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec ${process.execPath} ${CLI} "$@"\n`, { mode: 0o755 });
    writeFileSync(calls, '');
    const m = await monitor(['--host', ALIAS, '--once', '--json'], wrapper);
    expect(m.lines.filter((l) => l.state === 'firing').map((l) => [l.project, l.detector])).toEqual([[bad.project, 'oauth_fail']]);
    expect(readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['probe --stdio']);
  });

  it('a remote probe that does not list (an older release): the projects come from `ls --json` there', async () => {
    const bad = await remoteProject(AUTH_JSON, 2);
    const calls = join(remoteHome, 'old-calls.log');
    const wrapper = join(remoteHome, 'probe-without-list');
    // An older probe takes {"list": true} for a probe of its default config (none there).
    writeFileSync(wrapper, [
      '#!/bin/sh',
      `echo "$*" >> ${calls}`,
      `if [ "$1" = probe ] && [ "$2" = --stdio ]; then sed -u 's/^{"list":true}$/{"since":null}/' | ${process.execPath} ${CLI} "$@"; exit $?; fi`,
      `exec ${process.execPath} ${CLI} "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    writeFileSync(calls, '');
    const m = await monitor(['--host', ALIAS, '--project', bad.project, '--once', '--json'], wrapper);
    expect(m.lines.filter((l) => l.state === 'firing').map((l) => [l.project, l.detector])).toEqual([[bad.project, 'oauth_fail']]);
    expect(readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')).sort()).toEqual(['ls --json', 'probe --stdio']);
  });

  it('two hosts at once: one connection each, one line per host × project', async () => {
    const bad = await remoteProject(AUTH_JSON, 2);
    const before = accepted();
    const m = await monitor(['--host', ALIAS, '--host', ALIAS2, '--project', bad.project, '--once', '--json']);
    const firing = m.lines.filter((l) => l.detector === 'oauth_fail');
    expect(firing.map((l) => [l.host, l.project]).sort()).toEqual([[ALIAS, bad.project], [ALIAS2, bad.project]]);
    expect(m.code).toBe(2);
    expect(accepted() - before).toBe(2);
  });

  it('a running fleet monitor: lines from both hosts as they fire; Ctrl-C closes both connections', async () => {
    const bad = await remoteProject('ok', 1);
    const mon = startCli(['monitor', '--host', ALIAS, '--host', ALIAS2, '--project', bad.project, '--json', '--interval', '0.3'], { cwd: mkdtempSync(join(localHome, 'empty-')), env: env() });
    const done = finish(mon);
    let out = '';
    mon.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line & { type: string }).filter((l) => l.type === 'alert' && l.detector === 'oauth_fail' && l.state === 'firing');
    // The harm happens while it watches.
    writeFileSync(bad.config, readFileSync(bad.config, 'utf8').replace('FAKE_MODE = "ok"', `FAKE_MODE = ${JSON.stringify(AUTH_JSON)}`));
    await runCli(['round', '--config', bad.config], { cwd: bad.dir, env: { XDG_STATE_HOME: remoteState } });
    await runCli(['round', '--config', bad.config], { cwd: bad.dir, env: { XDG_STATE_HOME: remoteState } });
    await waitFor(() => lines().length >= 2, 'oauth_fail from both hosts', 30_000);
    expect(lines().map((l) => [l.host, l.project]).sort()).toEqual([[ALIAS, bad.project], [ALIAS2, bad.project]]);
    mon.kill('SIGINT');
    expect((await done).code).toBe(0);
    const controlPath = join(localHome, 'run', 'agent-runner', '%C');
    for (const alias of [ALIAS, ALIAS2]) expect(spawnSync('ssh', ['-F', sshConfig, '-o', `ControlPath=${controlPath}`, '-O', 'check', alias], { timeout: 10_000 }).status).not.toBe(0);
  });

  it('the hosts of [monitor] hosts in the local config, when no --host is given', async () => {
    const bad = await remoteProject(AUTH_JSON, 2);
    const dir = mkdtempSync(join(localHome, 'cfg-'));
    writeFileSync(join(dir, 'p.md'), 'x');
    const local = join(dir, 'agent-runner.toml');
    writeFileSync(local, `[agent]\ncommand = ["true"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n[monitor]\nhosts = ["${ALIAS}", "${ALIAS2}"]\n`);
    const m = await monitor(['--config', local, '--project', bad.project, '--once', '--json']);
    expect(m.lines.filter((l) => l.detector === 'oauth_fail').map((l) => l.host).sort()).toEqual([ALIAS, ALIAS2]);
  });

  /** A local config whose only job is [[notify]] and the digest time: the remote projects are the subject. */
  async function digestConfig(): Promise<{ config: string; receiver: Receiver }> {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const dir = mkdtempSync(join(localHome, 'digest-'));
    writeFileSync(join(dir, 'p.md'), 'x');
    const config = join(dir, 'agent-runner.toml');
    writeFileSync(config, `[agent]\ncommand = ["true"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n[[notify]]\nname = "hook"\ntype = "webhook"\nurl = "${receiver.url()}"\n[monitor]\ndigest_at = "00:00"\n`);
    return { config, receiver };
  }
  const digests = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body) as { kind: string; title: string; host: string; project: string; message: string; details: Record<string, unknown> }).filter((b) => b.kind === 'digest');

  it('digest_at: the daily digest of each remote project is computed on its host and arrives naming host and project', async () => {
    const p = await remoteProject(COST_JSON, 2);
    const commits = Number(spawnSync('git', ['-C', p.dir, 'rev-list', '--count', 'HEAD'], { encoding: 'utf8' }).stdout.trim());
    const { config, receiver } = await digestConfig();
    const m = await monitor(['--config', config, '--host', ALIAS, '--host', ALIAS2, '--project', p.project, '--once', '--json']);
    expect(m.code).toBe(0);
    expect(m.stderr).not.toContain('digest');
    const got = digests(receiver);
    expect(got.map((d) => [d.host, d.project]).sort()).toEqual([[ALIAS, p.project], [ALIAS2, p.project]]);
    for (const d of got) {
      expect(d.title).toContain(`${p.project} on ${d.host}: daily digest`);
      expect(d.details).toMatchObject({ rounds: { clean: 2 }, cost_usd: 0.5, commits, halts: [], alerts_firing: [] });
      expect(d.message).toContain('Rounds: 2 (2 clean)');
    }
    // Once per host × project and day: a second monitor sends nothing new.
    await monitor(['--config', config, '--host', ALIAS, '--host', ALIAS2, '--project', p.project, '--once', '--json']);
    expect(digests(receiver)).toHaveLength(2);
  });

  it('digest_at with a remote that predates remote digests, or over --transport exec: skipped with one warning line', async () => {
    const p = await remoteProject(COST_JSON, 1);
    const { config, receiver } = await digestConfig();
    // An older probe ignores the request's `digest` and answers with an evaluation of the project.
    const wrapper = join(remoteHome, 'probe-without-digest');
    writeFileSync(wrapper, [
      '#!/bin/sh',
      `if [ "$1" = probe ] && [ "$2" = --stdio ]; then sed -u 's/^{"digest":{[^}]*},/{/' | ${process.execPath} ${CLI} "$@"; exit $?; fi`,
      `exec ${process.execPath} ${CLI} "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    const old = await monitor(['--config', config, '--host', ALIAS, '--project', p.project, '--once', '--json'], wrapper);
    expect(old.code).toBe(0);
    expect(old.stdout).toContain(`"project":"${p.project}"`);
    expect(old.stderr.split('\n').filter((l) => l.includes('digest'))).toEqual([expect.stringMatching(new RegExp(`no daily digest for ${ALIAS} ${p.project}: .*predates remote digests`))]);

    const exec = await monitor(['--config', config, '--host', ALIAS, '--project', p.project, '--transport', 'exec', '--once', '--json']);
    expect(exec.code).toBe(0);
    expect(exec.stderr.split('\n').filter((l) => l.includes('digest'))).toEqual([expect.stringMatching(/no daily digest for .*--transport exec/)]);
    expect(digests(receiver)).toEqual([]);
  });

  it('a host with nothing registered, or without the project asked for: no_project, said once per host', async () => {
    const empty = join(remoteHome, 'empty-state');
    const none = await monitor(['--host', ALIAS, '--once', '--json'], `env XDG_STATE_HOME=${empty} ${process.execPath} ${CLI}`);
    expect(none.code).toBe(3);
    expect(none.lines.map((l) => [l.host, l.detector])).toEqual([[ALIAS, 'no_project']]);
    expect(none.lines[0]!.message).toContain('no project is registered');

    await remoteProject('ok', 1);
    const missing = await monitor(['--host', ALIAS, '--project', 'no-such-project', '--once', '--json']);
    expect(missing.code).toBe(3);
    expect(missing.lines.map((l) => l.detector)).toEqual(['no_project']);
    expect(missing.lines[0]!.message).toContain('no project named "no-such-project"');
  });

  it('an older agent-runner there (no `ls`): remote_version_mismatch', async () => {
    const old = join(remoteHome, 'old-agent-runner');
    writeFileSync(old, "#!/bin/sh\necho \"error: unknown command 'ls'\" >&2\nexit 1\n", { mode: 0o755 });
    const m = await monitor(['--host', ALIAS, '--once', '--json'], old);
    expect(m.code).toBe(3);
    // Whatever an earlier test left firing for this host resolves: the reason changed.
    expect(m.lines.filter((l) => l.state === 'firing').map((l) => l.detector)).toEqual(['remote_version_mismatch']);
  });
});
