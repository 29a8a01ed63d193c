import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loginFileFor } from '../agents/credentials.js';
import type { Config } from '../config/load.js';
import { readJsonOr } from '../state/json-file.js';
import { withFileLock } from '../state/file-lock.js';
import { userStateDir } from '../state/user-state.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';

/**
 * One account's quota, shared by every supervisor of this user that spends it: when one project's
 * agent is refused (a usage limit with a reset time) or pauses for its window, the others wait for
 * the same reset instead of each running into the wall on its own.
 *
 * The file is `<user state dir>/quota/<key>.json`, where the key names the account:
 *  - `quota.account = "NAME"`: `account-NAME`, for any agent (the explicit way to share);
 *  - else claude or codex with a stored login: `<cli>-<hash of the login file's path>`, so two
 *    projects logged in through the same file share it and a second CLAUDE_CONFIG_DIR does not;
 *  - else (an API key, another CLI): no sharing, since nothing tells which account it is.
 */
export interface SharedQuotaState {
  key: string;
  /** epoch seconds: until when every supervisor of this account waits. */
  paused_until_epoch: number;
  /** What the source round reported: a refusal (usage_limit) or a window nearly spent (quota). */
  reason: 'usage_limit' | 'quota';
  source: { project: string; config: string; round_num: number; ts: string; pid: number };
}

/** The account key for this config, or undefined when it shares nothing. */
export function sharedQuotaKey(cfg: Config, env: NodeJS.ProcessEnv): string | undefined {
  if (!cfg.quota.share) return undefined;
  if (cfg.quota.account) return `account-${cfg.quota.account}`;
  const login = loginFileFor(cfg.agent.name ?? basename(cfg.agent.command[0] ?? ''), env);
  if (!login) return undefined;
  return `${login.cli}-${createHash('sha256').update(resolve(login.file)).digest('hex').slice(0, 16)}`;
}

export function sharedQuotaPath(key: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(userStateDir(env), 'quota', `${key}.json`);
}

/** The pause in force for this account (reset still ahead), unless this project itself wrote it. */
export function readSharedPause(path: string, cfg: Config, nowMs: number): SharedQuotaState | undefined {
  const s = readJsonOr<SharedQuotaState>(path);
  if (!s || typeof s.paused_until_epoch !== 'number' || s.paused_until_epoch * 1000 <= nowMs) return undefined;
  // This project's own limits are its own policy's to wait out (with its own caps).
  if (s.source?.config === cfg.path) return undefined;
  return s;
}

/** Records a pause for every supervisor of the account; a later reset already recorded is kept. */
export async function publishPause(path: string, p: { key: string; untilEpoch: number; reason: SharedQuotaState['reason']; cfg: Config; roundNum: number }): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  await withFileLock(`${path}.lock`, () => {
    const cur = readJsonOr<SharedQuotaState>(path);
    if (cur && typeof cur.paused_until_epoch === 'number' && cur.paused_until_epoch >= p.untilEpoch) return;
    const next: SharedQuotaState = {
      key: p.key,
      paused_until_epoch: p.untilEpoch,
      reason: p.reason,
      source: { project: p.cfg.project, config: p.cfg.path, round_num: p.roundNum, ts: isoNow(), pid: process.pid },
    };
    writeJsonAtomic(path, next);
  });
}
