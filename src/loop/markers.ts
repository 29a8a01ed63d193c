import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { doneArchivePath, stateFiles } from '../state/files.js';
import type { PreRoundFacts } from './policy.js';

/**
 * The marker files serve looks at before every spawn, read into plain facts for the policy:
 * the agent's done sentinel (archived here, never deleted: the agent's last word is evidence) and
 * the stop file.
 */
export function readPreRoundMarkers(cfg: Config, nowMs: number): Pick<PreRoundFacts, 'sentinel' | 'stopFile'> {
  const out: Pick<PreRoundFacts, 'sentinel' | 'stopFile'> = {};
  const sentinel = cfg.paths.doneSentinel;
  if (existsSync(sentinel)) {
    const content = readHead(sentinel);
    mkdirSync(stateFiles(cfg.paths.logDir).archive, { recursive: true, mode: 0o700 });
    const archivedTo = doneArchivePath(cfg.paths.logDir, nowMs);
    try {
      renameSync(sentinel, archivedTo);
    } catch {
      /* a read-only sentinel location: the halt still holds */
    }
    out.sentinel = { content, archivedTo };
  }
  const stopFile = cfg.paths.stopFile;
  if (stopFile && existsSync(stopFile)) out.stopFile = { path: stopFile, content: readHead(stopFile) };
  return out;
}

/** The first 200 characters of a marker file; an unreadable one still counts, with no content. */
function readHead(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(0, 200);
  } catch {
    return '';
  }
}
