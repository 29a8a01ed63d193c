/**
 * PURE: what a round achieved, judged from evidence rather than from its exit code alone. An exit 0
 * is no proof of work (anthropics/claude-code#85040), and a 2-second "finished" can be an expired
 * login (anthropics/claude-code-action#1501): the verdict weighs what the round left behind.
 */
import type { RoundOutcome, RoundVerdict, TransientClass, VerdictEvidence } from '../events/payloads.js';

export type { RoundVerdict, VerdictEvidence };

export interface VerdictFacts {
  outcome: RoundOutcome;
  transient: TransientClass | undefined;
  evidence: VerdictEvidence;
}

export function judgeRound(f: VerdictFacts): RoundVerdict {
  // The agent's own report of a limit or a refused login outranks how the process ended: a limited
  // agent that then hung until our timeout was still limited.
  if (f.transient === 'usage_limit') return 'limited';
  if (f.transient === 'auth_failure') return 'auth_failed';
  if (f.outcome === 'timeout') return 'timeout';
  if (f.outcome !== 'clean' && f.outcome !== 'grace_kill') return 'failed';
  return didWork(f.evidence) ? 'productive' : 'no_op';
}

/** Work is what stays: commits (HEAD moved) or changed files. Tokens alone are talk. */
export function didWork(e: VerdictEvidence): boolean {
  return e.head_moved === true || (e.commits ?? 0) > 0 || e.files_changed > 0;
}
