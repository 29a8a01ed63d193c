import type { Condition, Snapshot, Thresholds } from '../types.js';

/**
 * Rounds that end clean and change nothing (verdict no_op), one after another: the loop spends
 * quota and reports success while the work stands still (agrimsingh/ralph-wiggum-cursor#15,
 * jwbron/egg#3595). Judged on finished rounds only, newest first; any other verdict ends the run.
 */
export function noProgress(s: Snapshot, t: Thresholds): Condition[] {
  if (t.no_progress_rounds <= 0) return [];
  const ended = s.digest.rounds.filter((r) => r.ended_at !== null && r.verdict !== null);
  let streak = 0;
  let tokens = 0;
  for (let i = ended.length - 1; i >= 0 && ended[i]!.verdict === 'no_op'; i--) {
    streak++;
    tokens += (ended[i]!.input_tokens ?? 0) + (ended[i]!.output_tokens ?? 0);
  }
  if (streak < t.no_progress_rounds) return [];
  const last = ended.at(-1)!;
  return [
    {
      detector: 'no_progress',
      subject: '',
      severity: 'warning',
      message: `${streak} rounds in a row ended clean but changed nothing (last: round ${last.round_num}${tokens ? `; ${tokens} tokens spent` : ''})`,
      context: {
        streak,
        threshold: t.no_progress_rounds,
        last_round: last.round_num,
        tokens,
        hint: 'read the last round logs (`agent-runner peek --round N --log`): the agent finds nothing to do, or cannot; sharpen the prompt, or set runtime.max_idle_rounds to halt such a loop',
      },
      evidence_ms: Date.parse(last.ended_at!) || s.now,
    },
  ];
}
