// [sandbox] mode = "bwrap" with the real bubblewrap (build.sh installs it for the tests): what the
// agent may write, its private /tmp, and network = false against a listener this test runs on the
// host's 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_AGENT, readEvents, runCli, survivorsOf, useProjects, type Project } from '../helpers/project.js';

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `platform is ${process.platform}`;
  const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-net', '--', 'true']);
  if (r.error) return 'bwrap is not installed (Debian: bubblewrap)';
  if (r.status !== 0) return `bwrap cannot make namespaces here: ${String(r.stderr).trim()}`;
  return undefined;
}
const reason = unavailable();
const skip = reason !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping bwrap sandbox e2e: ${reason}`);

const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const logOf = (p: Project) => readFileSync(String(readEvents(p.logDir).find((e) => e.event === 'agent_spawn')!['log_path']), 'utf8');

describe.skipIf(skip)('[sandbox] mode = "bwrap"', () => {
  const { project } = useProjects();
  const scratch = mkdtempSync(join(tmpdir(), 'ar-bwrap-'));
  let server: Server;
  let port = 0;
  let accepted = 0;
  beforeAll(async () => {
    server = createServer((s) => {
      accepted++;
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the agent writes in the work dir and its state dir; not in $HOME or /etc; its /tmp is private', async () => {
    const id = randomUUID();
    const state = mkdtempSync(join(scratch, 'state-'));
    const homeProbe = join(userInfo().homedir, `.ar-bwrap-probe-${id}`);
    const tmpProbe = `/tmp/ar-bwrap-probe-${id}`;
    const p = project({
      mode: ['write:out/inside', `write:${state}/s`, `write:${homeProbe}`, `write:/etc/ar-bwrap-probe-${id}`, `write:${scratch}/outside-${id}`, `write:${tmpProbe}`].join(';;'),
      extraToml: `[sandbox]\nmode = "bwrap"\nwritable_paths = [${JSON.stringify(state)}, "${scratch}/never-created"]\n`,
    });
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    expect(readEvents(p.logDir).find((e) => e.event === 'agent_spawn')).toMatchObject({ sandbox: 'bwrap' });
    const log = logOf(p);
    expect(log).toContain('write ok out/inside');
    expect(existsSync(join(p.dir, 'out', 'inside'))).toBe(true);
    expect(log).toContain(`write ok ${state}/s`);
    expect(existsSync(join(state, 's'))).toBe(true);
    expect(log).toContain(`write failed ${homeProbe}`);
    expect(existsSync(homeProbe)).toBe(false);
    expect(log).toContain(`write failed /etc/ar-bwrap-probe-${id}`);
    // Elsewhere under /tmp the write lands in the sandbox's own /tmp, never in the host's.
    expect(existsSync(`${scratch}/outside-${id}`)).toBe(false);
    expect(log).toContain(`write ok ${tmpProbe}`);
    expect(existsSync(tmpProbe)).toBe(false);
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('network = false: no connection to a listener on the host\'s 127.0.0.1; with the network, the same connect succeeds', async () => {
    const off = project({ mode: `connect:${port}`, extraToml: '[sandbox]\nmode = "bwrap"\nnetwork = false\n' });
    expect((await round(off)).code).toBe(0);
    expect(logOf(off)).toContain('connect failed');
    expect(accepted).toBe(0);
    const on = project({ mode: `connect:${port}`, extraToml: '[sandbox]\nmode = "bwrap"\n' });
    expect((await round(on)).code).toBe(0);
    expect(logOf(on)).toContain('connect ok');
    expect(accepted).toBe(1);
  });

  it('mode = "systemd" outside the sandboxed unit: the round runs, and agent_spawn says no sandbox was in effect', async () => {
    const p = project({ mode: 'ok', extraToml: '[sandbox]\nmode = "systemd"\n' });
    expect((await round(p)).code).toBe(0);
    expect(readEvents(p.logDir).find((e) => e.event === 'agent_spawn')).toMatchObject({ sandbox: 'off' });
  });

  it('without bwrap on PATH the startup check refuses the round and says how to fix it', async () => {
    const p = project({ command: ['/bin/bash', FAKE_AGENT], agentEnv: { PATH: join(scratch, 'empty-bin') }, extraToml: '[sandbox]\nmode = "bwrap"\n' });
    const r = await round(p);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('sandbox_available');
    expect(r.stderr).toContain('bwrap is not on PATH');
    expect(r.stderr).toContain('apt-get install bubblewrap');
    expect(readEvents(p.logDir).some((e) => e.event === 'agent_spawn')).toBe(false);
  });
});
