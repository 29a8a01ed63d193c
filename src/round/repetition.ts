/**
 * PURE: a stuck tool loop (defense F33: the same Edit of the same file eight times in a row). The
 * agent's tool calls are `(name, target)` pairs; a sliding window over the last `window` calls
 * flags a pair once it occurs `threshold` times in it. Upstream's definition, counted over every
 * call of the round as the agent writes it, not over the last 50 lines of the log afterwards.
 */

export interface RepetitionOptions {
  /** How many of the latest tool calls are looked at; 0 turns the check off. */
  window: number;
  /** How many times one pair must occur in the window; 0 turns the check off. */
  threshold: number;
  /** Called once per pair, as the call that makes it reach the threshold is read. */
  onFinding?: (f: RepetitionFinding) => void;
}

export interface RepetitionFinding {
  tool_name: string;
  target: string;
  /** The most times the pair occurred within one window. */
  count: number;
  window: number;
}

/** The target of a call: upstream's first string among these inputs, cut to 100 characters. */
const TARGET_KEYS = ['file_path', 'path', 'pattern', 'command'] as const;
export const TARGET_MAX = 100;

export function toolTarget(input: unknown): string {
  if (typeof input !== 'object' || input === null) return '';
  const rec = input as Record<string, unknown>;
  for (const k of TARGET_KEYS) {
    const v = rec[k];
    if (typeof v === 'string') return v.slice(0, TARGET_MAX);
  }
  return '';
}

export class RepetitionTracker {
  /** Keys of the calls in the window, oldest first (a ring of `window` slots). */
  private readonly ring: string[] = [];
  private next = 0;
  private readonly counts = new Map<string, number>();
  private readonly flagged = new Map<string, RepetitionFinding>();

  constructor(private readonly opts: RepetitionOptions) {}

  get enabled(): boolean {
    return this.opts.window > 0 && this.opts.threshold > 0;
  }

  /** Record one call; returns the finding when this call makes its pair reach the threshold. */
  note(name: string, target: string): RepetitionFinding | undefined {
    if (!this.enabled) return undefined;
    // NUL cannot occur in a JSON-decoded tool name, so the key is unambiguous.
    const key = `${name}\u0000${target}`;
    if (this.ring.length < this.opts.window) this.ring.push(key);
    else {
      const old = this.ring[this.next]!;
      const left = (this.counts.get(old) ?? 1) - 1;
      if (left === 0) this.counts.delete(old);
      else this.counts.set(old, left);
      this.ring[this.next] = key;
      this.next = (this.next + 1) % this.opts.window;
    }
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count < this.opts.threshold) return undefined;
    const seen = this.flagged.get(key);
    if (seen) {
      seen.count = Math.max(seen.count, count);
      return undefined;
    }
    const finding: RepetitionFinding = { tool_name: name, target, count, window: this.opts.window };
    this.flagged.set(key, finding);
    this.opts.onFinding?.({ ...finding });
    return { ...finding };
  }

  /** Every pair that reached the threshold in this round, in the order they did. */
  findings(): RepetitionFinding[] {
    return [...this.flagged.values()].map((f) => ({ ...f }));
  }
}
