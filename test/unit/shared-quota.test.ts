import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { publishPause, readSharedPause, sharedQuotaKey, sharedQuotaPath, type SharedQuotaState } from '../../src/loop/shared-quota.js';
import { withFileLock } from '../../src/state/file-lock.js';

// The quota state one account's supervisors share: which projects share it, what a pause records,
// and the lock around its read-modify-write.

const cfgOf = (dir: string, agent: string, quota = '') =>
  parseConfig(`[agent]\ncommand = ["${agent}"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n[quota]\n${quota}\n`, join(dir, 'agent-runner.toml'));

describe('shared quota key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ar-shared-'));
  const env = { HOME: '/home/u' };

  it('claude and codex share by login file; another CLAUDE_CONFIG_DIR is another account', () => {
    const a = sharedQuotaKey(cfgOf(join(dir, 'a'), 'claude'), env);
    const b = sharedQuotaKey(cfgOf(join(dir, 'b'), 'claude'), env);
    expect(a).toMatch(/^claude-[0-9a-f]{16}$/);
    expect(b).toBe(a);
    expect(sharedQuotaKey(cfgOf(dir, 'claude'), { ...env, CLAUDE_CONFIG_DIR: '/home/u/work-claude' })).not.toBe(a);
    expect(sharedQuotaKey(cfgOf(dir, 'codex'), env)).toMatch(/^codex-/);
  });

  it('quota.account names the account for any agent; an agent with no known login shares nothing; share = false opts out', () => {
    expect(sharedQuotaKey(cfgOf(dir, 'aider', 'account = "team-1"'), env)).toBe('account-team-1');
    expect(sharedQuotaKey(cfgOf(dir, 'aider'), env)).toBeUndefined();
    expect(sharedQuotaKey(cfgOf(dir, 'claude', 'share = false'), env)).toBeUndefined();
  });

  it('the file lives under the per-user state dir', () => {
    expect(sharedQuotaPath('claude-abc', { XDG_STATE_HOME: '/x/state' })).toBe('/x/state/agent-runner/quota/claude-abc.json');
  });
});

describe('publishing and reading a pause', () => {
  it('a pause is seen by the other projects, not by the one that wrote it, and only until its reset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-shared-'));
    const file = join(dir, 'quota', 'account-x.json');
    const a = cfgOf(join(dir, 'a'), 'bash', 'account = "x"');
    const b = cfgOf(join(dir, 'b'), 'bash', 'account = "x"');
    const now = Date.now();
    const reset = Math.floor(now / 1000) + 600;
    await publishPause(file, { key: 'account-x', untilEpoch: reset, reason: 'usage_limit', cfg: a, roundNum: 4 });
    const seen = readSharedPause(file, b, now);
    expect(seen).toMatchObject({ key: 'account-x', paused_until_epoch: reset, reason: 'usage_limit', source: { project: a.project, config: a.path, round_num: 4, pid: process.pid } });
    expect(readSharedPause(file, a, now)).toBeUndefined();
    expect(readSharedPause(file, b, (reset + 1) * 1000)).toBeUndefined();
  });

  it('a later reset already recorded is kept; a later one replaces an earlier one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-shared-'));
    const file = join(dir, 'quota', 'account-x.json');
    const a = cfgOf(join(dir, 'a'), 'bash', 'account = "x"');
    const t = Math.floor(Date.now() / 1000);
    await publishPause(file, { key: 'account-x', untilEpoch: t + 900, reason: 'usage_limit', cfg: a, roundNum: 1 });
    await publishPause(file, { key: 'account-x', untilEpoch: t + 300, reason: 'quota', cfg: a, roundNum: 2 });
    expect((JSON.parse(readFileSync(file, 'utf8')) as SharedQuotaState).paused_until_epoch).toBe(t + 900);
    await publishPause(file, { key: 'account-x', untilEpoch: t + 1200, reason: 'quota', cfg: a, roundNum: 3 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ paused_until_epoch: t + 1200, reason: 'quota', source: { round_num: 3 } });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('a torn or foreign file is no pause', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-shared-'));
    const file = join(dir, 'q.json');
    writeFileSync(file, '{"paused_until_ep');
    expect(readSharedPause(file, cfgOf(dir, 'bash'), Date.now())).toBeUndefined();
    writeFileSync(file, '{"paused_until_epoch":"tomorrow"}');
    expect(readSharedPause(file, cfgOf(dir, 'bash'), Date.now())).toBeUndefined();
  });
});

describe('the lock around a shared write', () => {
  it('writers take turns: concurrent read-modify-writes lose no update', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-lock-'));
    const file = join(dir, 'n');
    writeFileSync(file, '0');
    const bump = () =>
      withFileLock(`${file}.lock`, async () => {
        const n = Number(readFileSync(file, 'utf8'));
        // Yield between read and write, so an unlocked writer would interleave here.
        await new Promise((r) => setImmediate(r));
        writeFileSync(file, String(n + 1));
      });
    await Promise.all(Array.from({ length: 20 }, bump));
    expect(readFileSync(file, 'utf8')).toBe('20');
  });

  it('a lock left by a dead process is taken over at once; a live holder makes a writer wait, then give up at its deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-lock-'));
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, 'x.lock');
    // pid 2^22 + 1 is above pid_max's ceiling: never a live process.
    writeFileSync(lock, `${2 ** 22 + 1} 1`);
    expect(await withFileLock(lock, () => 'ran')).toBe('ran');
    expect(existsSync(lock)).toBe(false);

    writeFileSync(lock, `${process.pid} `);
    await expect(withFileLock(lock, () => 'ran', { timeoutMs: 200 })).rejects.toThrow(/held by another process/);
    expect(existsSync(lock)).toBe(true);
  });
});
