// A fleet to watch, for the tests of `monitor --host a --host b`: a real sshd on 127.0.0.1 plays
// the remote host, a second alias of it plays a second host, and a third alias points at a port
// nobody listens on (a host that is down). Remote projects run with the remote's own state
// directory, so their rounds record them in the remote's registry (what `ls --json` there lists).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { CLI, makeProject, runCli, startCli, type Project, type ProjectOptions } from './project.js';
import { freePort, secondAlias, startSshd, type TestSshd } from './sshd.js';

export interface Fleet {
  /** Two aliases of the one sshd: two "hosts". */
  readonly hosts: [string, string];
  /** An alias whose port nobody listens on. */
  readonly downHost: string;
  /** A project that ran `args` (e.g. ['round'] or ['serve']) `times` times on the "remote". */
  remoteProject(mode: string, args?: string[], times?: number): Promise<Project>;
  /** A project whose round (`args`, default ['round']) is started on the "remote" and left running: the caller tracks and ends it. */
  startRemoteRound(opts: ProjectOptions, args?: string[]): { project: Project; round: ChildProcess };
  /** The local side's environment: its own HOME and state, the fleet's ssh config, the remote program. */
  env(): Record<string, string>;
  /** An empty directory on the local side (no agent-runner.toml). */
  emptyDir(): string;
}

export function useFleet(prefix: string): Fleet {
  const hosts: [string, string] = [`${prefix}-a`, `${prefix}-b`];
  const downHost = `${prefix}-down`;
  let sshd: TestSshd | undefined;
  let remoteHome = '';
  let remoteState = '';
  let localHome = '';
  let sshConfig = '';
  const projects: Project[] = [];

  beforeAll(async () => {
    remoteHome = mkdtempSync(join(tmpdir(), 'ar-rhome-'));
    remoteState = join(remoteHome, 'state');
    localHome = mkdtempSync(join(tmpdir(), 'ar-lhome-'));
    sshd = await startSshd({ alias: hosts[0], env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: remoteHome, XDG_STATE_HOME: remoteState } });
    const base = readFileSync(sshd.configFile, 'utf8');
    // A port that was free a moment ago refuses connections: the host that is down.
    const closed = await freePort();
    sshConfig = join(localHome, 'ssh_config');
    writeFileSync(sshConfig, base + secondAlias(sshd, hosts[1]) + base.replace(`Host ${hosts[0]}`, `Host ${downHost}`).replace(/^ {2}Port \d+$/m, `  Port ${closed}`));
  }, 60_000);

  afterEach(() => {
    for (const p of projects.splice(0)) p.cleanup();
  });

  afterAll(async () => {
    await sshd?.stop();
    for (const d of [remoteHome, localHome]) if (d) rmSync(d, { recursive: true, force: true });
  });

  return {
    hosts,
    downHost,
    async remoteProject(mode, args = ['round'], times = 1) {
      const p = makeProject({ mode });
      projects.push(p);
      for (let i = 0; i < times; i++) await runCli([...args, '--config', p.config], { cwd: p.dir, env: { XDG_STATE_HOME: remoteState } });
      return p;
    },
    startRemoteRound(opts, args = ['round']) {
      const project = makeProject(opts);
      projects.push(project);
      const round = startCli([...args, '--config', project.config], { cwd: project.dir, env: { XDG_STATE_HOME: remoteState } });
      return { project, round };
    },
    env: () => ({ HOME: localHome, XDG_RUNTIME_DIR: join(localHome, 'run'), XDG_STATE_HOME: join(localHome, 'state'), AGENT_RUNNER_SSH_CONFIG: sshConfig, AGENT_RUNNER_REMOTE_CMD: `${process.execPath} ${CLI}` }),
    emptyDir: () => mkdtempSync(join(localHome, 'empty-')),
  };
}
