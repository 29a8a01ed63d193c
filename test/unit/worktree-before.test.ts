import { describe, expect, it } from 'vitest';
import { beforeForStatus, beforeFromStatus, type BeforeRound } from '../../src/round/dirty.js';

// status.json carries the tree before the round, so a successor recovering a round whose
// supervisor died resets only what that round changed — and nothing when the record is missing.
const SHA = (c: string) => c.repeat(40);

describe('the work tree before a round, through status.json', () => {
  it('round-trips, with and without a snapshot commit, and on an unborn branch', () => {
    const cases: BeforeRound[] = [
      { ok: true, state: { head: SHA('a'), headTree: SHA('b'), workTree: SHA('b'), indexTree: SHA('b') } },
      { ok: true, state: { head: SHA('a'), headTree: SHA('b'), workTree: SHA('c'), indexTree: SHA('d') }, commit: SHA('e'), refName: 'refs/agent-runner/orphans/R3-before' },
      { ok: true, state: { head: null, headTree: SHA('b'), workTree: SHA('c'), indexTree: SHA('b') } },
    ];
    for (const b of cases) expect(beforeFromStatus(JSON.parse(JSON.stringify(beforeForStatus(b))))).toEqual(b);
  });

  it('a failure, a missing record or a tampered one all read as "not preserved": nothing will be reset', () => {
    expect(beforeFromStatus(beforeForStatus({ ok: false, reason: 'git write-tree (index) failed' }))).toEqual({ ok: false, reason: 'git write-tree (index) failed' });
    for (const v of [undefined, null, 'x', { head: SHA('a'), head_tree: 'HEAD', work_tree: SHA('b'), index_tree: SHA('b') }, { head: '--all', head_tree: SHA('b'), work_tree: SHA('b'), index_tree: SHA('b') }]) {
      expect(beforeFromStatus(v).ok).toBe(false);
    }
  });
});
