import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, finish, runCli, startCli, useProjects, waitFor, type Project } from '../helpers/project.js';
import { secondAlias, sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';

// Push on change: the remote `probe --stdio` watches the project's log_dir and sends a fresh
// evaluation when it changes. Every monitor here polls once an hour (`--interval 3600`), so an
// alert seen before the test's deadline can only have been pushed. A remote that does not push
// (an older release; here `AGENT_RUNNER_PROBE_PUSH=0` there) is still watched, by polling.

const unavailable = sshdUnavailableReason();
const skip = unavailable !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping push monitor e2e: ${unavailable}`);

const ALIAS = 'ar-push-a';
const ALIAS2 = 'ar-push-b';
const AUTH_JSON = 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1';
// One failed round is enough to fire oauth_fail.
const WINDOW_1 = '[monitor]\nwindow = 1\n';
// Far longer than any deadline below: only a push can deliver the alert in time.
const NEVER = '3600';

interface Line {
  type: string;
  host: string | null;
  project?: string | null;
  detector?: string;
  state?: string;
}

/** A running monitor's stdout as parsed lines. */
function watchLines(child: ReturnType<typeof startCli>): () => Line[] {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}
const fired = (lines: Line[], detector: string) => lines.filter((l) => l.type === 'alert' && l.detector === detector && l.state === 'firing');

/** The project's next rounds fail to authenticate. */
function breakAuth(p: Project): void {
  writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = "ok"/, `FAKE_MODE = ${JSON.stringify(AUTH_JSON)}`));
}

describe('a local monitor sees a change under log_dir at once', () => {
  const { project, track } = useProjects();

  it('an auth failure written while it waits out a one-hour interval is reported', async () => {
    const p = project({ mode: 'ok', extraToml: WINDOW_1 });
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    const mon = track(startCli(['monitor', '--config', p.config, '--json', '--interval', NEVER], { cwd: p.dir }));
    const done = finish(mon, 300_000);
    const lines = watchLines(mon);
    await waitFor(() => lines().some((l) => l.type === 'state'), 'the first poll', 60_000);
    breakAuth(p);
    await runCli(['round', '--config', p.config], { cwd: p.dir });
    await waitFor(() => fired(lines(), 'oauth_fail').length > 0, 'oauth_fail without waiting for the next poll', 60_000);
    mon.kill('SIGINT');
    expect((await done).code).toBe(0);
  }, 240_000);
});

describe.skipIf(skip)('monitor --host: the remote probe pushes changes', () => {
  let sshd: TestSshd;
  let remoteHome: string;
  let remoteState: string;
  let localHome: string;
  let sshConfig: string;
  const { project, track } = useProjects();

  beforeAll(async () => {
    remoteHome = mkdtempSync(join(tmpdir(), 'ar-rhome-'));
    remoteState = join(remoteHome, 'state');
    localHome = mkdtempSync(join(tmpdir(), 'ar-lhome-'));
    sshd = await startSshd({ alias: ALIAS, env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: remoteHome, XDG_STATE_HOME: remoteState } });
    // A second "host": another alias of the same sshd.
    sshConfig = join(localHome, 'ssh_config');
    writeFileSync(sshConfig, readFileSync(sshd.configFile, 'utf8') + secondAlias(sshd, ALIAS2));
  });

  afterAll(async () => {
    await sshd?.stop();
    for (const d of [remoteHome, localHome]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const env = (remoteCmd = `${process.execPath} ${CLI}`) => ({
    HOME: localHome,
    XDG_RUNTIME_DIR: join(localHome, 'run'),
    XDG_STATE_HOME: join(localHome, 'state'),
    AGENT_RUNNER_SSH_CONFIG: sshConfig,
    AGENT_RUNNER_REMOTE_CMD: remoteCmd,
  });
  /** A round on the "remote": it records the project in the remote's registry. */
  const remoteRound = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir, env: { XDG_STATE_HOME: remoteState } });

  async function seesAuthFailure(args: string[], p: Project, hosts: string[], remoteCmd?: string): Promise<void> {
    const mon = track(startCli(['monitor', ...args, '--json'], { cwd: mkdtempSync(join(localHome, 'empty-')), env: env(remoteCmd) }));
    const done = finish(mon, 300_000);
    const lines = watchLines(mon);
    await waitFor(() => lines().filter((l) => l.type === 'state').length >= hosts.length, 'the first poll of every host', 60_000);
    breakAuth(p);
    await remoteRound(p);
    await waitFor(() => fired(lines(), 'oauth_fail').length >= hosts.length, `oauth_fail from ${hosts.join(' and ')}`, 60_000);
    expect(fired(lines(), 'oauth_fail').map((l) => l.host).sort()).toEqual([...hosts].sort());
    mon.kill('SIGINT');
    const r = await done;
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
  }

  it('one host: the auth failure reaches the alert line long before the next poll', async () => {
    const p = project({ mode: 'ok', extraToml: WINDOW_1 });
    await remoteRound(p);
    await seesAuthFailure(['--host', ALIAS, '--remote-config', p.config, '--interval', NEVER], p, [ALIAS]);
  }, 240_000);

  it('two hosts: each host\'s probe pushes to the target of its own connection', async () => {
    const p = project({ mode: 'ok', extraToml: WINDOW_1 });
    await remoteRound(p);
    await seesAuthFailure(['--host', ALIAS, '--host', ALIAS2, '--project', p.project, '--interval', NEVER], p, [ALIAS, ALIAS2]);
  }, 240_000);

  it('a remote that does not push is watched by polling', async () => {
    const p = project({ mode: 'ok', extraToml: WINDOW_1 });
    await remoteRound(p);
    await seesAuthFailure(['--host', ALIAS, '--remote-config', p.config, '--interval', '0.5'], p, [ALIAS], `env AGENT_RUNNER_PROBE_PUSH=0 ${process.execPath} ${CLI}`);
  }, 240_000);
});
