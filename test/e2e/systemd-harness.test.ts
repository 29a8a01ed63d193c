// The systemd --user harness itself: a real manager, real units, real signals. Later e2e tests build on
// it, so this pins down the behaviour they (and the product) rely on.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, startUserManager, systemdUnavailableReason, type UserManager } from '../helpers/systemd-user.js';

const reason = systemdUnavailableReason();
// Locally a missing prerequisite skips; under CI it must not, so startUserManager throws the reason.
const skip = reason !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`skipping systemd --user e2e: ${reason}`);

/** Poll `probe` until it returns a value, failing with `what` after the deadline. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(25);
  }
}

describe.skipIf(skip)(`systemd --user harness${skip ? ` (skipped: ${reason})` : ''}`, () => {
  let m: UserManager;

  beforeAll(async () => {
    m = await startUserManager();
    console.info(`systemd --user ready in ${m.startupMs.toFixed(0)}ms (pid ${m.pid})`);
  });
  afterAll(async () => {
    await m?.stop();
  });

  const systemctl = async (...args: string[]) => {
    const r = await m.run('systemctl', ['--user', ...args]);
    expect(r, `systemctl --user ${args.join(' ')}`).toMatchObject({ exitCode: 0 });
    return r.stdout;
  };

  it('starts a unit, restarts it after SIGKILL, stops it', async () => {
    expect(isAlive(m.pid)).toBe(true);
    const unit = 'ar-harness-sleep.service';
    writeFileSync(
      join(m.unitDir, unit),
      ['[Service]', 'ExecStart=/bin/sleep 300', 'Restart=always', 'RestartSec=100ms', ''].join('\n'),
    );
    await systemctl('daemon-reload');
    await systemctl('start', unit);

    const first = await m.show(unit, ['ActiveState', 'MainPID', 'ControlGroup']);
    expect(first.ActiveState).toBe('active');
    const firstPid = Number(first.MainPID);
    expect(firstPid).toBeGreaterThan(0);
    expect(isAlive(firstPid)).toBe(true);
    // The unit gets a real cgroup below the manager's fenced one, and the kernel agrees.
    expect(first.ControlGroup).toMatch(new RegExp(`/agent-runner-test-[^/]+/app\\.slice/${unit.replace('.', '\\.')}$`));
    expect(readFileSync(`/proc/${firstPid}/cgroup`, 'utf8')).toContain(`0::${first.ControlGroup}\n`);

    process.kill(firstPid, 'SIGKILL');
    const secondPid = await waitFor('a restarted MainPID', async () => {
      const s = await m.show(unit, ['ActiveState', 'MainPID']);
      const pid = Number(s.MainPID);
      return s.ActiveState === 'active' && pid > 0 && pid !== firstPid && isAlive(pid) ? pid : undefined;
    });
    expect(isAlive(firstPid)).toBe(false);
    expect(Number((await m.show(unit, ['NRestarts'])).NRestarts)).toBeGreaterThanOrEqual(1);

    await systemctl('stop', unit);
    expect(await m.show(unit, ['ActiveState', 'MainPID'])).toMatchObject({ ActiveState: 'inactive', MainPID: '0' });
    expect(isAlive(secondPid)).toBe(false);
  });

  it('KillMode=mixed sends SIGTERM to the main process only, SIGKILL to the rest', async () => {
    const unit = 'ar-harness-mixed.service';
    const log = join(m.home, 'mixed.log');
    const script = join(m.home, 'mixed.sh');
    writeFileSync(log, '');
    writeFileSync(
      script,
      [
        'log="$1"',
        `sh -c 'trap "echo child-TERM >> \\"$0\\"" TERM; echo "child-ready $$" >> "$0"; while :; do sleep 0.05; done' "$log" &`,
        `trap 'echo main-TERM >> "$log"; exit 0' TERM`,
        'echo "main-ready $$" >> "$log"',
        'while :; do sleep 0.05; done',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(m.unitDir, unit),
      ['[Service]', `ExecStart=/bin/sh ${script} ${log}`, 'KillMode=mixed', 'TimeoutStopSec=5', ''].join('\n'),
    );
    await systemctl('daemon-reload');
    await systemctl('start', unit);
    const childPid = await waitFor('both traps installed', async () => {
      const text = readFileSync(log, 'utf8');
      const child = /child-ready (\d+)/.exec(text);
      return child && text.includes('main-ready') ? Number(child[1]) : undefined;
    });

    await systemctl('stop', unit);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('main-TERM');
    expect(text).not.toContain('child-TERM');
    expect(isAlive(childPid)).toBe(false);
    expect((await m.show(unit, ['ActiveState'])).ActiveState).toBe('inactive');
  });

  it('stop() ends the manager and every process it started, and cleans up', async () => {
    // KillMode=process leaves the child behind when the manager exits: stop() must still kill it.
    const unit = 'ar-harness-leak.service';
    const pidFile = join(m.home, 'leak.pid');
    writeFileSync(
      join(m.unitDir, unit),
      ['[Service]', `ExecStart=/bin/sh -c 'sleep 1000 & echo $! > ${pidFile}; exec sleep 1000'`, 'KillMode=process', ''].join(
        '\n',
      ),
    );
    await systemctl('daemon-reload');
    await systemctl('start', unit);
    const leaked = await waitFor('the leaked child pid', async () =>
      existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() ? Number(readFileSync(pidFile, 'utf8')) : undefined,
    );
    expect(isAlive(leaked)).toBe(true);

    const { pid, home, runtimeDir, cgroupDirs } = m;
    await m.stop();
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(leaked)).toBe(false);
    for (const path of [home, runtimeDir, ...cgroupDirs]) expect(existsSync(path), path).toBe(false);
    await m.stop(); // idempotent
  });
});
