import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeProject, runCli, type Project } from '../helpers/project.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { freePort, sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';

// Every way a remote poll fails is told apart, from what OpenSSH and the remote really say: a
// real sshd on 127.0.0.1, ssh client configs that break one step each, remote programs that
// are missing, old, or fail.

const unavailable = sshdUnavailableReason();
const skip = unavailable !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping remote diagnosis e2e: ${unavailable}`);

const ALIAS = 'ar-diag';

interface AlertLine {
  host: string | null;
  detector: string;
  severity: string;
  state: string;
  message: string;
  fix?: string;
  context: Record<string, unknown>;
}

describe.skipIf(skip)('monitor --host tells remote failures apart', () => {
  let sshd: TestSshd;
  let remoteHome: string;
  let localHome: string;
  const projects: Project[] = [];

  beforeAll(async () => {
    remoteHome = mkdtempSync(join(tmpdir(), 'ar-rhome-'));
    localHome = mkdtempSync(join(tmpdir(), 'ar-lhome-'));
    sshd = await startSshd({ alias: ALIAS, env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: remoteHome } });
  });

  afterEach(() => {
    for (const p of projects.splice(0)) p.cleanup();
  });

  afterAll(async () => {
    await sshd?.stop();
    for (const d of [remoteHome, localHome]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const env = () => ({ HOME: localHome, XDG_RUNTIME_DIR: join(localHome, 'run'), XDG_STATE_HOME: join(localHome, 'state') });
  const agentRunner = `${process.execPath} ${CLI}`;

  /** A copy of the harness's client config with one line changed. */
  function sshConfig(name: string, edit: (text: string) => string): string {
    const file = join(localHome, name);
    writeFileSync(file, edit(readFileSync(sshd.configFile, 'utf8')));
    return file;
  }

  async function once(opts: { sshConfig?: string; remoteCmd?: string; remoteConfig?: string; transport?: string; json?: boolean }) {
    const args = ['monitor', '--host', ALIAS, '--once', '--ssh-config', opts.sshConfig ?? sshd.configFile, '--remote-cmd', opts.remoteCmd ?? agentRunner];
    if (opts.remoteConfig) args.push('--remote-config', opts.remoteConfig);
    if (opts.transport) args.push('--transport', opts.transport);
    if (opts.json !== false) args.push('--json');
    const r = await runCli(args, { cwd: localHome, env: env() });
    expect(r.stderr).not.toContain('internal error');
    // `--once --json`: one state line per project; its alerts are what the tests look at.
    const states = opts.json === false ? [] : r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; status: string; alerts: AlertLine[] });
    for (const st of states) {
      assertMatchesSchema('monitor-line', st);
      expect(st).toMatchObject({ type: 'state', status: 'unknown' });
    }
    const lines = states.flatMap((st) => st.alerts);
    return { code: r.code, stdout: r.stdout, lines };
  }

  /** The one line a failed poll prints: its own detector, unknown, and a fix. */
  function theFailure(lines: AlertLine[], detector: string): AlertLine {
    const failures = lines.filter((l) => l.severity === 'unknown');
    expect(failures.map((l) => l.detector)).toEqual([detector]);
    const a = failures[0]!;
    expect(a).toMatchObject({ host: ALIAS, state: 'firing' });
    expect(a.fix).toEqual(expect.any(String));
    expect(a.fix!.length).toBeGreaterThan(10);
    return a;
  }

  function project(): Project {
    const p = makeProject({ mode: 'ok' });
    projects.push(p);
    return p;
  }

  it('nobody listening: host_unreachable, from ssh exit 255 on connect', async () => {
    const port = await freePort();
    const r = await once({ sshConfig: sshConfig('unreachable', (t) => t.replace(/Port \d+/, `Port ${port}`)), remoteConfig: project().config });
    expect(r.code).toBe(3);
    const a = theFailure(r.lines, 'host_unreachable');
    expect(a.message).toContain('Connection refused');
    expect(a.context['exit_code']).toBe(255);
  });

  it('a key the host does not accept: ssh_auth_refused', async () => {
    const key = join(localHome, 'stranger_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const r = await once({ sshConfig: sshConfig('auth', (t) => t.replace(/IdentityFile .*/, `IdentityFile ${key}`)), remoteConfig: project().config });
    expect(r.code).toBe(3);
    expect(theFailure(r.lines, 'ssh_auth_refused').message).toContain('Permission denied');
  });

  it('a host key not in known_hosts: host_key_unknown, and the key is not accepted', async () => {
    const empty = join(localHome, 'empty_known_hosts');
    writeFileSync(empty, '');
    const r = await once({ sshConfig: sshConfig('hostkey', (t) => t.replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${empty}`)), remoteConfig: project().config });
    expect(r.code).toBe(3);
    expect(theFailure(r.lines, 'host_key_unknown').message).toContain('Host key verification failed');
    expect(readFileSync(empty, 'utf8')).toBe('');
  });

  it('no agent-runner on the remote PATH: remote_not_installed (exit 127), over either transport', async () => {
    for (const transport of ['stream', 'exec']) {
      const r = await once({ remoteCmd: 'no-such-agent-runner', remoteConfig: project().config, transport });
      expect(r.code).toBe(3);
      const a = theFailure(r.lines, 'remote_not_installed');
      expect(a.context['exit_code']).toBe(127);
      expect(a.fix).toContain('--remote-cmd');
    }
  });

  it('an older agent-runner there: remote_version_mismatch, whether it lacks the verb or speaks another probe version', async () => {
    const old = join(remoteHome, 'old-agent-runner');
    // What commander prints for a verb it does not know.
    writeFileSync(old, "#!/bin/sh\necho \"error: unknown command 'probe'\" >&2\nexit 1\n");
    const newer = join(remoteHome, 'newer-agent-runner');
    writeFileSync(newer, '#!/bin/sh\nwhile read -r line; do echo \'{"v":99,"kind":"agent-runner.probe"}\'; done\n');
    chmodSync(old, 0o755);
    chmodSync(newer, 0o755);
    const a = await once({ remoteCmd: old, remoteConfig: project().config });
    expect(a.code).toBe(3);
    expect(theFailure(a.lines, 'remote_version_mismatch').message).toContain("unknown command 'probe'");
    const b = await once({ remoteCmd: newer, remoteConfig: project().config });
    expect(b.code).toBe(3);
    expect(theFailure(b.lines, 'remote_version_mismatch').message).toContain('version 99');
  });

  it('no project at the path named: no_project, over either transport', async () => {
    for (const transport of ['stream', 'exec']) {
      const r = await once({ remoteConfig: join(remoteHome, 'nowhere', 'agent-runner.toml'), transport });
      expect(r.code).toBe(3);
      expect(theFailure(r.lines, 'no_project').message).toContain('config file not found');
    }
  });

  it('a broken remote config: remote_error carrying the remote\'s first line of stderr', async () => {
    const p = project();
    writeFileSync(p.config, readFileSync(p.config, 'utf8') + '\n[monitor]\nwindoww = 3\n');
    for (const transport of ['stream', 'exec']) {
      const r = await once({ remoteConfig: p.config, transport });
      expect(r.code).toBe(3);
      const a = theFailure(r.lines, 'remote_error');
      expect(a.message).toContain('did you mean "window"');
      expect(a.fix).toContain(`ssh ${ALIAS}`);
    }
  });

  it('without --json the failure is one alert line ending in its Fix: hint', async () => {
    const r = await once({ remoteCmd: 'no-such-agent-runner', remoteConfig: project().config, json: false });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/remote_not_installed — cannot poll ar-diag: .*exit 127.* Fix: install agent-runner on ar-diag/);
  });
});

