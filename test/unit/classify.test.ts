import { describe, expect, it } from 'vitest';
import { classify, signalName, type ExitFacts, type Outcome } from '../../src/round/classify.js';
import { EXIT_CODES } from '../../src/exit-codes.js';
import { signalNumber, signalOfShellExit } from '../../src/util/signals.js';

interface Row {
  name: string;
  facts: ExitFacts;
  outcome: Outcome;
  exit_cause: string;
  transient?: string;
  code: number;
}

const ROWS: Row[] = [
  { name: 'exit 0', facts: { exitCode: 0, signal: null }, outcome: 'clean', exit_cause: 'clean', code: 0 },
  { name: 'exit 1', facts: { exitCode: 1, signal: null }, outcome: 'error', exit_cause: 'error', code: 10 },
  { name: 'exit 2', facts: { exitCode: 2, signal: null }, outcome: 'error', exit_cause: 'error', code: 10 },
  { name: 'spawn failure (127)', facts: { exitCode: 127, signal: null }, outcome: 'error', exit_cause: 'error', code: 10 },
  { name: 'exit 0 but the structured result is an error', facts: { exitCode: 0, signal: null, resultIsError: true }, outcome: 'error', exit_cause: 'clean', code: 10 },
  { name: 'hard timeout', facts: { exitCode: null, signal: 'SIGTERM', killedBy: 'timeout' }, outcome: 'timeout', exit_cause: 'timeout', code: 11 },
  { name: 'idle timeout', facts: { exitCode: null, signal: 'SIGKILL', killedBy: 'idle' }, outcome: 'timeout', exit_cause: 'timeout', code: 11 },
  { name: 'a timeout the agent survived long enough to exit 0', facts: { exitCode: 0, signal: null, killedBy: 'timeout' }, outcome: 'timeout', exit_cause: 'timeout', code: 11 },
  { name: 'grace kill after the result', facts: { exitCode: null, signal: 'SIGTERM', killedBy: 'grace' }, outcome: 'grace_kill', exit_cause: 'timeout', code: 12 },
  { name: 'a signal we did not send', facts: { exitCode: null, signal: 'SIGSEGV' }, outcome: 'signal', exit_cause: 'signal:SIGSEGV', code: 13 },
  { name: 'SIGKILL from outside', facts: { exitCode: null, signal: 'SIGKILL' }, outcome: 'signal', exit_cause: 'signal:SIGKILL', code: 13 },
  { name: 'a shell wrapper reporting its child\'s SIGKILL as 137', facts: { exitCode: 137, signal: null }, outcome: 'signal', exit_cause: 'signal:SIGKILL', code: 13 },
  { name: 'a shell wrapper reporting SIGTERM as 143', facts: { exitCode: 143, signal: null }, outcome: 'signal', exit_cause: 'signal:SIGTERM', code: 13 },
  { name: 'exit 200 is an error, not a signal', facts: { exitCode: 200, signal: null }, outcome: 'error', exit_cause: 'error', code: 10 },
  { name: 'OOM kill', facts: { exitCode: null, signal: 'SIGKILL', oomKilled: true }, outcome: 'oom', exit_cause: 'signal:SIGKILL', code: 14 },
  { name: 'interrupted by a signal to the round', facts: { exitCode: null, signal: 'SIGTERM', killedBy: 'interrupt' }, outcome: 'interrupted', exit_cause: 'signal:SIGTERM', code: 143 },
  { name: 'interrupt wins over an OOM count', facts: { exitCode: null, signal: 'SIGKILL', killedBy: 'interrupt', oomKilled: true }, outcome: 'interrupted', exit_cause: 'signal:SIGKILL', code: 143 },
  // Transient classes decide the exit code of a round that did not succeed.
  { name: 'exit 1 + auth failure', facts: { exitCode: 1, signal: null, transient: 'auth_failure' }, outcome: 'error', exit_cause: 'error', transient: 'auth_failure', code: 15 },
  { name: 'exit 1 + usage limit', facts: { exitCode: 1, signal: null, transient: 'usage_limit' }, outcome: 'error', exit_cause: 'error', transient: 'usage_limit', code: 16 },
  { name: 'exit 1 + network', facts: { exitCode: 1, signal: null, transient: 'network' }, outcome: 'error', exit_cause: 'error', transient: 'network', code: 17 },
  { name: 'exit 1 + a shared login refreshed elsewhere', facts: { exitCode: 1, signal: null, transient: 'auth_contention' }, outcome: 'error', exit_cause: 'error', transient: 'auth_contention', code: 18 },
  { name: 'exit 0 + usage limit reported: not a success', facts: { exitCode: 0, signal: null, transient: 'usage_limit' }, outcome: 'error', exit_cause: 'clean', transient: 'usage_limit', code: 16 },
  { name: 'timeout + network: the timeout decides the code', facts: { exitCode: null, signal: 'SIGTERM', killedBy: 'timeout', transient: 'network' }, outcome: 'timeout', exit_cause: 'timeout', transient: 'network', code: 11 },
  { name: 'timeout + auth failure: a round we killed keeps its own code', facts: { exitCode: null, signal: 'SIGTERM', killedBy: 'timeout', transient: 'auth_failure' }, outcome: 'timeout', exit_cause: 'timeout', transient: 'auth_failure', code: 11 },
  { name: 'signal + usage limit', facts: { exitCode: null, signal: 'SIGSEGV', transient: 'usage_limit' }, outcome: 'signal', exit_cause: 'signal:SIGSEGV', transient: 'usage_limit', code: 16 },
];

describe('classify', () => {
  it.each(ROWS)('$name → $outcome / $exit_cause / exit $code', (row) => {
    const c = classify(row.facts);
    expect(c.outcome).toBe(row.outcome);
    expect(c.exit_cause).toBe(row.exit_cause);
    expect(c.transient).toBe(row.transient);
    expect(c.roundExitCode).toBe(row.code);
  });

  it('the table covers every outcome', () => {
    const all: Outcome[] = ['clean', 'error', 'timeout', 'grace_kill', 'signal', 'oom', 'interrupted'];
    expect(new Set(ROWS.map((r) => r.outcome))).toEqual(new Set(all));
  });

  it('every exit code classify can return is documented for the round verb', () => {
    for (const code of new Set(ROWS.map((r) => r.code))) {
      const doc = EXIT_CODES.find((e) => e.code === code);
      expect(doc, `exit ${code}`).toBeDefined();
      expect(doc!.verbs === 'all' || doc!.verbs.includes('round'), `exit ${code} verbs`).toBe(true);
    }
  });

  it('a clean round carries no transient class (the key is absent, not undefined)', () => {
    expect('transient' in classify({ exitCode: 0, signal: null })).toBe(false);
  });
});

// Names come from the platform's table (os.constants.signals), Linux numbering here.
describe('signalName', () => {
  it.each([
    [1, 'SIGHUP'],
    [2, 'SIGINT'],
    [6, 'SIGABRT'], // before its alias SIGIOT
    [9, 'SIGKILL'],
    [10, 'SIGUSR1'],
    [15, 'SIGTERM'],
    [31, 'SIGSYS'],
    [64, 'SIG64'], // a realtime signal: no name in the table
  ])('%i → %s', (n, name) => {
    expect(signalName(n)).toBe(name);
  });
});

describe('signalNumber and signalOfShellExit', () => {
  it.each([
    ['SIGTERM', 15],
    ['SIGUSR1', 10],
    ['SIGIOT', 6],
    ['SIGNOPE', undefined],
    ['constructor', undefined],
  ])('%s → %s', (name, n) => {
    expect(signalNumber(name)).toBe(n);
  });
  it.each([
    [null, undefined],
    [0, undefined],
    [128, undefined],
    [129, 'SIGHUP'],
    [137, 'SIGKILL'],
    [143, 'SIGTERM'],
    [159, 'SIGSYS'],
    [160, undefined],
    [255, undefined],
  ])('exit %s → %s', (code, name) => {
    expect(signalOfShellExit(code)).toBe(name);
  });
});
