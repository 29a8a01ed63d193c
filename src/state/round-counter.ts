import { closeSync, openSync, readdirSync, readSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { monthOfEventsFile, roundOfLogName, stateFiles } from './files.js';
import { readJsonOr } from './json-file.js';
import { readStatus } from './status.js';

/**
 * Reserve the next round number (call with the project lock held). It is the max over every
 * artifact that could know a number — the counter file, status.json, round log names and the
 * newest events — plus one, so a crash or a corrupt state file never makes a number come back.
 */
export function reserveRoundNumber(logDir: string): { roundNum: number; statusCorrupt?: string } {
  const files = stateFiles(logDir);
  const counter = readJsonOr<{ last_round: number }>(files.counter)?.last_round ?? 0;
  const status = readStatus(logDir);
  const fromStatus = status.kind === 'ok' && Number.isInteger(status.value.round_num) ? status.value.round_num : 0;
  const next = Math.max(counter, fromStatus, maxRoundInLogs(files.rounds), maxRoundInEvents(logDir)) + 1;
  writeJsonAtomic(files.counter, { last_round: next });
  return { roundNum: next, ...(status.kind === 'corrupt' ? { statusCorrupt: status.error } : {}) };
}

export function maxRoundInLogs(roundsDir: string): number {
  let max = 0;
  let names: string[];
  try {
    names = readdirSync(roundsDir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const n = roundOfLogName(name);
    if (n !== undefined) max = Math.max(max, n);
  }
  return max;
}

/** The highest round_num in the last 64 KiB of the newest events file. */
function maxRoundInEvents(logDir: string): number {
  let names: string[];
  try {
    names = readdirSync(logDir).filter((n) => monthOfEventsFile(n) !== undefined).sort();
  } catch {
    return 0;
  }
  const newest = names.at(-1);
  if (!newest) return 0;
  let fd: number;
  try {
    fd = openSync(join(logDir, newest), 'r');
  } catch {
    return 0;
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 65536);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    let max = 0;
    for (const m of buf.toString('utf8').matchAll(/"round_num": ?(\d+)/g)) max = Math.max(max, Number(m[1]));
    return max;
  } finally {
    closeSync(fd);
  }
}
