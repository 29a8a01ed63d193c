import { describe, expect, it } from 'vitest';
import type { KnownKind } from '../../src/events/payloads.js';
import { EXIT, EXIT_CODES } from '../../src/exit-codes.js';
import type { Outcome } from '../../src/round/classify.js';
import type { SuperviseResult } from '../../src/round/supervise.js';
import { needsTextFallback, translateRound, type RoundFacts, type StreamFacts } from '../../src/round/translate.js';

// How a finished round is told, from plain facts: one row per way a round can end. Each row names
// the events in the order the round writes them, the status.json fields and `round`'s exit code.
const ENDED = '2026-12-02T10:00:00.000Z';
const quiet: StreamFacts = { structured: false, resultSeen: false, resultIsError: false, toolCalls: 0 };
const exited = (e: Partial<SuperviseResult>): SuperviseResult => ({ exitCode: 0, signal: null, leftoversKilled: 0, liveChildrenAtGrace: [], ...e });
const facts = (f: Partial<RoundFacts> & { exit: SuperviseResult }): RoundFacts => ({
  roundNum: 4,
  phase: 'build',
  phaseIndex: 1,
  agent: 'claude',
  timeoutS: 600,
  idleTimeoutS: 120,
  graceAfterResultS: 30,
  durationS: 12.5,
  endedAt: ENDED,
  oom: { inRound: 0, serviceBefore: undefined, serviceAfter: undefined },
  stream: quiet,
  dirtyFiles: [],
  commits: 1,
  logPath: '/logs/rounds/R4-x.log',
  ...f,
});

const usage: StreamFacts = {
  structured: true,
  resultSeen: true,
  resultIsError: false,
  toolCalls: 3,
  costUsd: 0.25,
  model: 'opus',
  usage: { input_tokens: 10, output_tokens: 20, cached_tokens: 5, cache_creation_tokens: 0 },
};

interface Row {
  name: string;
  facts: RoundFacts;
  outcome: Outcome;
  verdict: string;
  /** Every event, in order: exit events, dirty_detected, kill events, round_end. */
  kinds: KnownKind[];
  code: number;
  /** agent_exit.exit_code and status.json's last_exit_code. */
  exitCode: number | null;
  transient?: string;
  /** Fields of particular events, matched as subsets. */
  payloads?: Partial<Record<KnownKind, Record<string, unknown>>>;
}

const ROWS: Row[] = [
  { name: 'a clean exit', facts: facts({ exit: exited({}) }), outcome: 'clean', verdict: 'productive', kinds: ['agent_exit', 'round_end'], code: EXIT.OK, exitCode: 0,
    payloads: { agent_exit: { exit_cause: 'clean', timed_out: false, transient: null, leftovers_killed: 0, cost_usd: null }, round_end: { round_num: 4, outcome: 'clean', duration_s: 12.5, commits: 1 } } },
  { name: 'a clean exit with usage, leftovers and a dirty tree', facts: facts({ exit: exited({ leftoversKilled: 2 }), stream: usage, dirtyFiles: ['a.ts', 'b b.ts'] }), outcome: 'clean', verdict: 'productive',
    kinds: ['agent_exit', 'agent_usage_recorded', 'dirty_detected', 'round_end'], code: EXIT.OK, exitCode: 0,
    payloads: {
      agent_exit: { leftovers_killed: 2, tool_calls: 3, cost_usd: 0.25 },
      agent_usage_recorded: { agent: 'claude', model: 'opus', input_tokens: 10, output_tokens: 20, cached_tokens: 5, cost_usd: 0.25, duration_ms: 12_500, tool_call_count: 3, phase: 'build', success: true },
      dirty_detected: { round_num: 4, files: ['a.ts', 'b b.ts'], outcome: 'clean' },
    } },
  { name: 'a clean exit that reported a transient error in passing: no transient recorded', facts: facts({ exit: exited({}), stream: { ...quiet, structured: true } , textTransient: undefined }),
    outcome: 'clean', verdict: 'productive', kinds: ['agent_exit', 'round_end'], code: EXIT.OK, exitCode: 0 },
  { name: 'a non-zero exit', facts: facts({ exit: exited({ exitCode: 2 }) }), outcome: 'error', verdict: 'failed', kinds: ['agent_exit', 'unrecognized_failure', 'round_end'], code: EXIT.AGENT_ERROR, exitCode: 2,
    payloads: { agent_exit: { exit_cause: 'error', outcome: 'error' } } },
  { name: 'exit 0 with an error result', facts: facts({ exit: exited({}), stream: { ...usage, resultIsError: true } }), outcome: 'error', verdict: 'failed',
    kinds: ['agent_exit', 'agent_usage_recorded', 'unrecognized_failure', 'round_end'], code: EXIT.AGENT_ERROR, exitCode: 0, payloads: { agent_usage_recorded: { success: false } } },
  { name: 'a missing agent CLI (spawn error)', facts: facts({ exit: exited({ exitCode: 127, spawnError: 'spawn claude ENOENT' }) }), outcome: 'error', verdict: 'failed',
    kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_ERROR, exitCode: 127, payloads: { agent_exit: { error: 'spawn claude ENOENT' } } },
  { name: 'the hard timeout', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGTERM', killedBy: 'timeout', killMs: 40 }) }), outcome: 'timeout', verdict: 'timeout',
    kinds: ['agent_exit', 'round_timeout_kill', 'round_end'], code: EXIT.AGENT_TIMEOUT, exitCode: -15,
    payloads: { agent_exit: { timed_out: true, exit_cause: 'timeout', signal: 'SIGTERM' }, round_timeout_kill: { reason: 'exceeded round_timeout_s=600', kill_ms: 40 } } },
  { name: 'the idle timeout', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGKILL', killedBy: 'idle' }) }), outcome: 'timeout', verdict: 'timeout',
    kinds: ['agent_exit', 'round_timeout_kill', 'round_end'], code: EXIT.AGENT_TIMEOUT, exitCode: -9,
    payloads: { round_timeout_kill: { reason: 'no output for idle_timeout_s=120', kill_ms: null } } },
  { name: 'a timeout on a network error: the blip is recorded, the timeout decides', facts: facts({ exit: exited({ exitCode: 1, killedBy: 'timeout' }), textTransient: { classification: 'network', raw: 'ECONNRESET' } }),
    outcome: 'timeout', verdict: 'timeout', kinds: ['agent_exit', 'transient_error_detected', 'agent_network_blip', 'round_timeout_kill', 'round_end'], code: EXIT.AGENT_TIMEOUT, exitCode: 1, transient: 'network',
    payloads: { agent_network_blip: { timed_out: true, exit_code: 1 } } },
  { name: 'done, then hung: grace kill', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGTERM', killedBy: 'grace', killMs: 7, liveChildrenAtGrace: [1, 2, 3, 4, 5, 6].map((pid) => ({ name: 'sleep', pid })) }), stream: usage }),
    outcome: 'grace_kill', verdict: 'productive', kinds: ['agent_exit', 'agent_usage_recorded', 'round_grace_kill', 'round_end'], code: EXIT.AGENT_GRACE_KILL, exitCode: -15,
    payloads: { agent_exit: { timed_out: true }, round_grace_kill: { grace_s: 30, kill_ms: 7, live_children: [1, 2, 3, 4, 5].map((pid) => ({ name: 'sleep', pid })) } } },
  { name: 'a signal we did not send', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGSEGV' }) }), outcome: 'signal', verdict: 'failed', kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_SIGNAL, exitCode: -11,
    payloads: { agent_exit: { exit_cause: 'signal:SIGSEGV' } } },
  { name: 'a signal outside the classic nine keeps its number', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGUSR1' }) }), outcome: 'signal', verdict: 'failed', kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_SIGNAL, exitCode: -10 },
  { name: 'a shell reporting its child\'s SIGKILL as 137', facts: facts({ exit: exited({ exitCode: 137 }) }), outcome: 'signal', verdict: 'failed', kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_SIGNAL, exitCode: 137 },
  { name: 'SIGKILL while the service cgroup counted no new OOM kill', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGKILL' }), oom: { inRound: 0, serviceBefore: 2, serviceAfter: 2 } }),
    outcome: 'signal', verdict: 'failed', kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_SIGNAL, exitCode: -9 },
  { name: 'an OOM kill counted by the round\'s own cgroup', facts: facts({ exit: exited({ exitCode: 1 }), oom: { inRound: 1, serviceBefore: undefined, serviceAfter: undefined } }),
    outcome: 'oom', verdict: 'failed', kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_OOM, exitCode: 1 },
  { name: 'SIGKILL with a new OOM kill in the service cgroup', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGKILL' }), oom: { inRound: 0, serviceBefore: 2, serviceAfter: 3 } }),
    outcome: 'oom', verdict: 'failed', kinds: ['agent_exit', 'round_end'], code: EXIT.AGENT_OOM, exitCode: -9 },
  { name: 'a new service OOM kill without SIGKILL is not the leader\'s', facts: facts({ exit: exited({ exitCode: 1 }), oom: { inRound: 0, serviceBefore: 2, serviceAfter: 3 } }),
    outcome: 'error', verdict: 'failed', kinds: ['agent_exit', 'unrecognized_failure', 'round_end'], code: EXIT.AGENT_ERROR, exitCode: 1 },
  { name: 'an OOM count does not override a kill of ours', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGKILL', killedBy: 'timeout' }), oom: { inRound: 1, serviceBefore: undefined, serviceAfter: undefined } }),
    outcome: 'timeout', verdict: 'timeout', kinds: ['agent_exit', 'round_timeout_kill', 'round_end'], code: EXIT.AGENT_TIMEOUT, exitCode: -9 },
  { name: 'SIGTERM to the round', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGTERM', killedBy: 'interrupt', interruptedBy: 'SIGTERM', killMs: 12 }) }), outcome: 'interrupted', verdict: 'failed',
    kinds: ['agent_exit', 'round_interrupted', 'round_end'], code: EXIT.INTERRUPTED_TERM, exitCode: -15, payloads: { round_interrupted: { signal: 'SIGTERM', kill_ms: 12 } } },
  { name: 'SIGINT to the round', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGTERM', killedBy: 'interrupt', interruptedBy: 'SIGINT' }) }), outcome: 'interrupted', verdict: 'failed',
    kinds: ['agent_exit', 'round_interrupted', 'round_end'], code: EXIT.INTERRUPTED_INT, exitCode: -15, payloads: { round_interrupted: { signal: 'SIGINT', kill_ms: null } } },
  { name: 'SIGHUP to the round', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGTERM', killedBy: 'interrupt', interruptedBy: 'SIGHUP' }) }), outcome: 'interrupted', verdict: 'failed',
    kinds: ['agent_exit', 'round_interrupted', 'round_end'], code: EXIT.INTERRUPTED_HUP, exitCode: -15 },
  { name: 'interrupted before the spawn, with a dirty tree', facts: facts({ exit: exited({ exitCode: null, killedBy: 'interrupt', interruptedBy: 'SIGTERM' }), durationS: 0, dirtyFiles: ['x'] }), outcome: 'interrupted', verdict: 'failed',
    kinds: ['agent_exit', 'round_interrupted', 'dirty_detected', 'round_end'], code: EXIT.INTERRUPTED_TERM, exitCode: null, payloads: { dirty_detected: { outcome: 'interrupted' } } },
  { name: 'a usage limit from structured output', facts: facts({ exit: exited({ exitCode: 1 }), stream: { ...quiet, structured: true, transient: { classification: 'usage_limit', reset_at_epoch: 1_800_000_000, raw: 'limit' } } }),
    outcome: 'error', verdict: 'limited', kinds: ['agent_exit', 'transient_error_detected', 'round_end'], code: EXIT.AGENT_USAGE_LIMIT, exitCode: 1, transient: 'usage_limit',
    payloads: { agent_exit: { transient: 'usage_limit', reset_at_epoch: 1_800_000_000 }, transient_error_detected: { classification: 'usage_limit', agent: 'claude', reset_at_epoch: 1_800_000_000, raw: 'limit' } } },
  { name: 'an auth failure from the last lines', facts: facts({ exit: exited({ exitCode: 1 }), textTransient: { classification: 'auth_failure', raw: '401' } }),
    outcome: 'error', verdict: 'auth_failed', kinds: ['agent_exit', 'transient_error_detected', 'round_end'], code: EXIT.AGENT_AUTH, exitCode: 1, transient: 'auth_failure' },
  { name: 'a network error from the last lines: a blip', facts: facts({ exit: exited({ exitCode: 1 }), textTransient: { classification: 'network', raw: 'x'.repeat(300) } }),
    outcome: 'error', verdict: 'failed', kinds: ['agent_exit', 'transient_error_detected', 'agent_network_blip', 'round_end'], code: EXIT.AGENT_NETWORK, exitCode: 1, transient: 'network',
    payloads: { agent_network_blip: { phase: 'build', matched: 'x'.repeat(200), round_duration_s: 12.5, exit_code: 1, timed_out: false } } },
  { name: 'a network error with a signal: no blip', facts: facts({ exit: exited({ exitCode: null, signal: 'SIGSEGV' }), textTransient: { classification: 'network', raw: 'reset' } }),
    outcome: 'signal', verdict: 'failed', kinds: ['agent_exit', 'transient_error_detected', 'round_end'], code: EXIT.AGENT_NETWORK, exitCode: -11, transient: 'network' },
  { name: 'structured output wins over the last lines', facts: facts({ exit: exited({ exitCode: 1 }), stream: { ...quiet, structured: true, transient: { classification: 'auth_failure', raw: 'a' } }, textTransient: { classification: 'network', raw: 'n' } }),
    outcome: 'error', verdict: 'auth_failed', kinds: ['agent_exit', 'transient_error_detected', 'round_end'], code: EXIT.AGENT_AUTH, exitCode: 1, transient: 'auth_failure' },
];

describe('translateRound', () => {
  it.each(ROWS)('$name → $outcome, exit $code', (row) => {
    const rec = translateRound(row.facts);
    expect(rec.classification.outcome).toBe(row.outcome);
    expect(rec.verdict).toBe(row.verdict);
    expect(rec.endEvent.payload).toMatchObject({ verdict: row.verdict });
    expect(rec.classification.roundExitCode).toBe(row.code);
    expect(rec.classification.transient).toBe(row.transient);
    expect(rec.transient?.classification).toBe(row.transient);
    const all = [...rec.exitEvents, ...(rec.dirtyEvent ? [rec.dirtyEvent] : []), ...rec.killEvents, rec.endEvent];
    expect(all.map((e) => e.kind)).toEqual(row.kinds);
    for (const e of all) expect((e.payload as { round_num: number }).round_num).toBe(4);
    expect(rec.exitEvents[0]!.payload).toMatchObject({ exit_code: row.exitCode, outcome: row.outcome, duration_s: row.facts.durationS, transient: row.transient ?? null });
    for (const [kind, payload] of Object.entries(row.payloads ?? {})) {
      expect(all.find((e) => e.kind === kind)?.payload, kind).toMatchObject(payload);
    }
    expect(rec.status).toEqual({
      round_num: 4,
      current_phase: 'build',
      phase_index: 1,
      running: false,
      last_completed_at: ENDED,
      last_exit_code: row.exitCode,
      last_duration_s: row.facts.durationS,
      last_outcome: row.outcome,
      last_verdict: row.verdict,
      ...(row.transient ? { last_transient: row.transient } : {}),
      last_dirty_files: row.facts.dirtyFiles,
      last_log_path: '/logs/rounds/R4-x.log',
    });
  });

  it('the table covers every outcome', () => {
    const all: Outcome[] = ['clean', 'error', 'timeout', 'grace_kill', 'signal', 'oom', 'interrupted'];
    expect(new Set(ROWS.map((r) => r.outcome))).toEqual(new Set(all));
  });

  it('every exit code a round can return is in the registry and documented for the round verb', () => {
    for (const code of new Set(ROWS.map((r) => r.code))) {
      const doc = EXIT_CODES.find((e) => e.code === code);
      expect(doc, `exit ${code}`).toBeDefined();
      expect(doc!.verbs === 'all' || doc!.verbs.includes('round'), `exit ${code} verbs`).toBe(true);
    }
  });

  it('a round without phases has no phase fields, and only the first 20 dirty files are recorded', () => {
    const many = Array.from({ length: 25 }, (_, i) => `f${i}`);
    const rec = translateRound(facts({ exit: exited({}), phase: undefined, phaseIndex: undefined, dirtyFiles: many }));
    expect(rec.status.current_phase).toBeUndefined();
    expect(rec.status.phase_index).toBeUndefined();
    expect(rec.status.last_dirty_files).toEqual(many.slice(0, 20));
    expect(rec.dirtyEvent?.payload).toMatchObject({ files: many.slice(0, 20) });
  });

  it('the snapshot of the user\'s work taken before the agent ran is recorded in the final status', () => {
    expect(translateRound(facts({ exit: exited({}), worktreeSnapshot: 'abc123' })).status.last_worktree_snapshot).toBe('abc123');
    expect('last_worktree_snapshot' in translateRound(facts({ exit: exited({}) })).status).toBe(false);
  });

  it('is pure: the same facts give the same record, and the facts are not touched', () => {
    const f = facts({ exit: exited({ exitCode: 1 }), stream: usage, dirtyFiles: ['a'], textTransient: { classification: 'network', raw: 'n' } });
    const before = structuredClone(f);
    expect(translateRound(f)).toEqual(translateRound(f));
    expect(f).toEqual(before);
  });
});

describe('needsTextFallback', () => {
  const rows: { name: string; exit: Partial<SuperviseResult>; stream?: Partial<StreamFacts>; didWork?: boolean; want: boolean }[] = [
    { name: 'a failed plain-text agent', exit: { exitCode: 1 }, want: true },
    { name: 'a spawn error', exit: { exitCode: 127, spawnError: 'ENOENT' }, want: true },
    { name: 'a clean exit that did work', exit: { exitCode: 0 }, didWork: true, want: false },
    { name: 'a clean exit that did nothing: its last lines may say why (aider gives up on a limit and exits 0)', exit: { exitCode: 0 }, want: true },
    { name: 'killed for its timeout: never read as a limit (ralph-claude-code#183)', exit: { exitCode: null, signal: 'SIGTERM', killedBy: 'timeout' }, want: false },
    { name: 'killed by a signal (exit code null)', exit: { exitCode: null, signal: 'SIGKILL' }, want: true },
    { name: 'an interrupt of ours', exit: { exitCode: null, killedBy: 'interrupt' }, want: false },
    { name: 'structured output, read already', exit: { exitCode: 1 }, stream: { structured: true }, want: false },
    { name: 'a transient signal already found', exit: { exitCode: 1 }, stream: { transient: { classification: 'network', raw: '' } }, want: false },
  ];
  it.each(rows)('$name → $want', ({ exit, stream, didWork, want }) => {
    expect(needsTextFallback(exited(exit), { ...quiet, ...stream }, didWork ?? false)).toBe(want);
  });
});
