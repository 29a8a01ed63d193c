import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { readJsonOr } from '../state/json-file.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { which } from '../util/exec.js';
import { probeAgentVersion } from './version.js';

/**
 * The agent CLI's version for every round, without paying a `--version` per round: the answer is
 * kept in log_dir/agent-version.json under the binary's identity (real path, mtime, size), so only
 * an install or self-update that replaces the binary (or the symlink's target) probes again.
 */
interface VersionCache {
  /** realpath:mtimeMs:size of the binary the version was read from. */
  key: string;
  command: string;
  /** What `--version` said for this binary; null when it failed or timed out. */
  version: string | null;
  /** The newest version a round recorded, kept across failed probes: what a change is measured from. */
  last_known: string | null;
}

export interface AgentVersionReading {
  /** The resolved binary (agent.command[0] on PATH). */
  command: string;
  version: string | null;
  /** The version the previous round recorded, when it differs from this one. */
  changedFrom?: string;
}

export const VERSION_CACHE_FILE = 'agent-version.json';

export async function readAgentVersion(cfg: Config, env: NodeJS.ProcessEnv): Promise<AgentVersionReading | undefined> {
  const bin = which(cfg.agent.command[0]!, env['PATH']);
  if (!bin) return undefined;
  let key: string;
  try {
    const real = realpathSync(bin);
    const st = statSync(real);
    key = `${real}:${st.mtimeMs}:${st.size}`;
  } catch {
    return undefined;
  }
  const file = join(cfg.paths.logDir, VERSION_CACHE_FILE);
  const cached = readJsonOr<VersionCache>(file);
  if (cached && cached.key === key && cached.command === bin) return { command: bin, version: cached.version };

  const probe = await probeAgentVersion(bin, env, { timeoutMs: cfg.agent.version_timeout_s * 1000, graceMs: cfg.runtime.kill_grace_s * 1000 });
  const version = probe.kind === 'ok' ? probe.version : null;
  const before = cached?.last_known ?? null;
  const next: VersionCache = { key, command: bin, version, last_known: version ?? before };
  try {
    writeJsonAtomic(file, next);
  } catch {
    /* advisory: the next round probes again */
  }
  return { command: bin, version, ...(version && before && version !== before ? { changedFrom: before } : {}) };
}
