import { describe, expect, it } from 'vitest';
import { parseEvent, parseRecord } from '../../src/events/reader.js';
import { toJsonLine } from '../../src/events/json-line.js';

/** What a reader gets back from a stored line: a member of the kind union, or nothing. */
const line = (rec: Record<string, unknown>): string => toJsonLine(rec).trimEnd();

describe('parseEvent', () => {
  it('returns the kind union: a switch on event gives that kind\'s fields', () => {
    const ev = parseEvent(line({ ts: '2026-01-01T00:00:00.000Z', event: 'agent_exit', round_num: 3, outcome: 'timeout', timed_out: true }));
    expect(ev).toBeDefined();
    let seen: string;
    switch (ev!.event) {
      case 'agent_exit':
        // Typed access (no casts): this line fails the type check if the union loses the field.
        seen = `${ev!.round_num}:${ev!.outcome}:${String(ev!.timed_out)}`;
        break;
      default:
        seen = 'other';
    }
    expect(seen).toBe('3:timeout:true');
  });

  it('skips torn lines, non-objects and lines without a kind', () => {
    const whole = line({ ts: '2026-01-01T00:00:00.000Z', event: 'round_end', round_num: 1, outcome: 'clean', duration_s: 1 });
    for (const bad of [whole.slice(0, 30), '', 'garbage', '[1,2]', '{"ts": "x"}', '{"event": 5, "ts": "x"}', '{"event": "round_end"}']) {
      expect(parseEvent(bad), bad).toBeUndefined();
      expect(parseRecord(bad), bad).toBeUndefined();
    }
    expect(parseEvent(whole)?.event).toBe('round_end');
  });

  it('does not return kinds this version does not write; parseRecord keeps them as stored', () => {
    const foreign = line({ ts: '2026-01-01T00:00:00.000Z', event: 'hook_failed', hook: 'x' });
    expect(parseEvent(foreign)).toBeUndefined();
    expect(parseRecord(foreign)).toEqual({ ts: '2026-01-01T00:00:00.000Z', event: 'hook_failed', hook: 'x' });
    // Inherited object keys are not kinds either.
    expect(parseEvent(line({ ts: '2026-01-01T00:00:00.000Z', event: 'toString' }))).toBeUndefined();
  });

  it('keeps a line from an older writer that lacks fields (readers check before use)', () => {
    const ev = parseEvent(line({ ts: '2026-01-01T00:00:00.000Z', event: 'agent_exit', round_num: 2, exit_code: 1 }));
    expect(ev?.event === 'agent_exit' && ev.transient).toBeUndefined();
    expect(ev && 'transient' in ev).toBe(false);
  });
});
