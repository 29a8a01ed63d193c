import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { roundOfLogName } from '../state/files.js';

/** Keep the newest `keep` round logs (by round number); never the one just written. */
export function pruneRoundLogs(roundsDir: string, keep: number, current: string): number {
  let names: string[];
  try {
    names = readdirSync(roundsDir).filter((n) => roundOfLogName(n) !== undefined);
  } catch {
    return 0;
  }
  if (names.length <= keep) return 0;
  const num = (n: string) => roundOfLogName(n)!;
  names.sort((a, b) => num(a) - num(b) || a.localeCompare(b));
  let removed = 0;
  for (const n of names.slice(0, names.length - keep)) {
    const p = join(roundsDir, n);
    if (p === current) continue;
    try {
      unlinkSync(p);
      removed++;
    } catch {
      /* raced */
    }
  }
  return removed;
}
