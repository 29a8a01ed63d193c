import { constants } from 'node:os';
import { FOREIGN_EXIT } from '../exit-codes.js';

/**
 * Signal names and numbers from the platform's own table (`os.constants.signals`), the only signal
 * table in the code base. It is constant data, so pure deciders (classify, translate) may use it.
 */
const BY_NAME: Readonly<Record<string, number>> = constants.signals;

/** The first name listed for each number (SIGABRT before its alias SIGIOT, SIGIO before SIGPOLL). */
const BY_NUMBER = new Map<number, string>();
for (const [name, num] of Object.entries(BY_NAME)) if (!BY_NUMBER.has(num)) BY_NUMBER.set(num, name);

/** The number of a signal by name (`SIGTERM` → 15); undefined for a name the platform does not have. */
export function signalNumber(name: string): number | undefined {
  return Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
}

/**
 * The signal a shell means by exit status 128 + N (a wrapper reporting its child's death), for the
 * numbers signals have on this platform; undefined for any other status.
 */
export function signalOfShellExit(code: number | null): string | undefined {
  if (code === null || code <= FOREIGN_EXIT.SIGNAL_BASE || code >= FOREIGN_EXIT.SIGNAL_BASE + 32) return undefined;
  return signalName(code - FOREIGN_EXIT.SIGNAL_BASE);
}

/** The name of a signal by number (15 → `SIGTERM`); `SIG<n>` for a number with no name. */
export function signalName(num: number): string {
  return BY_NUMBER.get(num) ?? `SIG${num}`;
}
