import { describe, expect, it } from 'vitest';
import type { RoundOutcome, TransientClass, VerdictEvidence } from '../../src/events/payloads.js';
import { emptyLog, foldEvent } from '../../src/history/log.js';
import { noProgress } from '../../src/monitor/detectors/progress.js';
import type { Snapshot, Thresholds } from '../../src/monitor/types.js';
import { judgeRound, type RoundVerdict } from '../../src/round/verdict.js';

const nothing: VerdictEvidence = { head_moved: false, commits: 0, files_changed: 0, tokens: 500, is_error: false, exit_code: 0 };

describe('judgeRound: a verdict from evidence', () => {
  const rows: Array<[string, RoundOutcome, TransientClass | undefined, Partial<VerdictEvidence>, RoundVerdict]> = [
    ['exit 0 with a commit', 'clean', undefined, { head_moved: true, commits: 1 }, 'productive'],
    ['exit 0 with changed files left uncommitted', 'clean', undefined, { files_changed: 2 }, 'productive'],
    ['HEAD moved though the count is unknown (history rewritten)', 'clean', undefined, { head_moved: true, commits: null }, 'productive'],
    ['exit 0, tokens spent, nothing changed', 'clean', undefined, {}, 'no_op'],
    ['exit 0, nothing reported at all', 'clean', undefined, { tokens: null, head_moved: null, commits: null }, 'no_op'],
    ['finished its work but hung (grace kill), with a commit', 'grace_kill', undefined, { commits: 1, head_moved: true }, 'productive'],
    ['a usage limit', 'error', 'usage_limit', { exit_code: 1 }, 'limited'],
    ['an expired login under exit 0', 'error', 'auth_failure', { is_error: true }, 'auth_failed'],
    ['a limit reported, then hung until our timeout', 'timeout', 'usage_limit', { exit_code: null }, 'limited'],
    ['our timeout', 'timeout', undefined, { exit_code: null }, 'timeout'],
    ['a network error', 'error', 'network', { exit_code: 1 }, 'failed'],
    ['auth contention', 'error', 'auth_contention', { exit_code: 1 }, 'failed'],
    ['an unexplained exit 1, even with a commit', 'error', undefined, { exit_code: 1, commits: 1 }, 'failed'],
    ['OOM', 'oom', undefined, { exit_code: null }, 'failed'],
    ['a signal', 'signal', undefined, { exit_code: -9 }, 'failed'],
    ['interrupted', 'interrupted', undefined, { exit_code: null }, 'failed'],
  ];
  it.each(rows)('%s → %s', (_name, outcome, transient, ev, want) => {
    expect(judgeRound({ outcome, transient, evidence: { ...nothing, ...ev } })).toBe(want.valueOf());
  });
});

describe('no_progress: the detector', () => {
  const T = { no_progress_rounds: 3 } as Thresholds;
  const NOW = Date.UTC(2026, 10, 21, 12);
  const snap = (verdicts: Array<string | null>): Snapshot => {
    const d = emptyLog();
    verdicts.forEach((v, i) => {
      const ts = new Date(NOW - (100 - i) * 1000).toISOString();
      foldEvent(d, { ts, event: 'round_start', round_num: i + 1, phase: null, checks: [] } as never);
      foldEvent(d, { ts, event: 'agent_usage_recorded', round_num: i + 1, input_tokens: 100, output_tokens: 20 } as never);
      foldEvent(d, { ts, event: 'round_end', round_num: i + 1, outcome: 'clean', duration_s: 1, ...(v ? { verdict: v } : {}) } as never);
    });
    return { now: NOW, digest: d } as Snapshot;
  };

  it('fires after no_progress_rounds no_op rounds in a row, naming the streak and the tokens spent', () => {
    expect(noProgress(snap(['productive', 'no_op', 'no_op']), T)).toEqual([]);
    const c = noProgress(snap(['productive', 'no_op', 'no_op', 'no_op']), T);
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ detector: 'no_progress', severity: 'warning', context: { streak: 3, threshold: 3, last_round: 4, tokens: 360 } });
  });

  it('any other verdict ends the run; rounds without a verdict (older history) are skipped; 0 disables it', () => {
    expect(noProgress(snap(['no_op', 'no_op', 'failed', 'no_op', 'no_op']), T)).toEqual([]);
    expect(noProgress(snap(['no_op', null, 'no_op', 'no_op']), T)).toHaveLength(1);
    expect(noProgress(snap(['no_op', 'no_op', 'no_op', 'no_op']), { no_progress_rounds: 0 } as Thresholds)).toEqual([]);
  });
});
