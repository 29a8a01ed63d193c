import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { EXIT } from '../../src/exit-codes.js';
import { reserveWindowEnd, type ReserveWindow } from '../../src/loop/reserve.js';

// quota.reserve: the window math against Intl's zone data, on ordinary days, across midnight and on
// the two days a year Europe/Berlin and America/New_York change their clocks.

const utc = (iso: string) => Date.parse(iso);
const end = (nowIso: string, r: ReserveWindow) => {
  const e = reserveWindowEnd(utc(nowIso), r);
  return e === undefined ? undefined : new Date(e).toISOString();
};
const BERLIN_DAY: ReserveWindow = { from: '09:00', to: '18:00', time_zone: 'Europe/Berlin' };
const BERLIN_NIGHT: ReserveWindow = { from: '22:00', to: '06:00', time_zone: 'Europe/Berlin' };

describe('reserve window', () => {
  it('a day window in winter (CET, UTC+1): inside until 18:00 local, outside before and after', () => {
    expect(end('2026-01-15T08:00:00Z', BERLIN_DAY)).toBe('2026-01-15T17:00:00.000Z'); // 09:00 local: opens
    expect(end('2026-01-15T16:59:59Z', BERLIN_DAY)).toBe('2026-01-15T17:00:00.000Z');
    expect(end('2026-01-15T07:59:00Z', BERLIN_DAY)).toBeUndefined(); // 08:59 local
    expect(end('2026-01-15T17:00:00Z', BERLIN_DAY)).toBeUndefined(); // 18:00 local: closed
  });

  it('the same window in summer (CEST, UTC+2) ends an hour earlier in UTC', () => {
    expect(end('2026-07-01T12:00:00Z', BERLIN_DAY)).toBe('2026-07-01T16:00:00.000Z');
    expect(end('2026-07-01T06:30:00Z', BERLIN_DAY)).toBeUndefined(); // 08:30 local
  });

  it('a window crossing midnight ends the next morning before midnight and the same morning after it', () => {
    expect(end('2026-01-15T21:30:00Z', BERLIN_NIGHT)).toBe('2026-01-16T05:00:00.000Z'); // 22:30 local
    expect(end('2026-01-16T02:00:00Z', BERLIN_NIGHT)).toBe('2026-01-16T05:00:00.000Z'); // 03:00 local
    expect(end('2026-01-15T12:00:00Z', BERLIN_NIGHT)).toBeUndefined();
    // The last day of a month and of a year roll over too.
    expect(end('2026-12-31T22:00:00Z', BERLIN_NIGHT)).toBe('2027-01-01T05:00:00.000Z');
  });

  it('spring forward (Berlin, 2026-03-29, 02:00 → 03:00): a night window is an hour shorter in real time', () => {
    // 23:00 CET on the 28th; the window ends at 06:00 CEST on the 29th = 04:00Z (7 real hours, not 8).
    expect(end('2026-03-28T22:00:00Z', BERLIN_NIGHT)).toBe('2026-03-29T04:00:00.000Z');
    // After the change, still inside: 05:30 CEST.
    expect(end('2026-03-29T03:30:00Z', BERLIN_NIGHT)).toBe('2026-03-29T04:00:00.000Z');
    expect(end('2026-03-29T04:00:00Z', BERLIN_NIGHT)).toBeUndefined();
  });

  it('fall back (Berlin, 2026-10-25, 03:00 → 02:00): a night window is an hour longer in real time', () => {
    // 23:00 CEST on the 24th = 21:00Z; ends 06:00 CET on the 25th = 05:00Z (9 real hours).
    expect(end('2026-10-24T21:00:00Z', BERLIN_NIGHT)).toBe('2026-10-25T05:00:00.000Z');
    // 02:30 local, the second time (CET): still the same end.
    expect(end('2026-10-25T01:30:00Z', BERLIN_NIGHT)).toBe('2026-10-25T05:00:00.000Z');
  });

  it('an end inside the spring-forward gap comes out shifted forward by the gap, never in the past', () => {
    const gap: ReserveWindow = { from: '01:00', to: '02:30', time_zone: 'Europe/Berlin' };
    // 01:30 CET = 00:30Z; 02:30 does not exist that day: 03:30 CEST = 01:30Z.
    expect(end('2026-03-29T00:30:00Z', gap)).toBe('2026-03-29T01:30:00.000Z');
  });

  it('another zone (America/New_York, DST starts 2026-03-08): a day window on the change day', () => {
    const ny: ReserveWindow = { from: '09:00', to: '17:00', time_zone: 'America/New_York' };
    expect(end('2026-03-07T15:00:00Z', ny)).toBe('2026-03-07T22:00:00.000Z'); // EST, UTC-5
    expect(end('2026-03-08T15:00:00Z', ny)).toBe('2026-03-08T21:00:00.000Z'); // EDT, UTC-4
  });

  it('UTC, and a window of one minute', () => {
    expect(end('2026-05-05T10:00:30Z', { from: '10:00', to: '10:01', time_zone: 'UTC' })).toBe('2026-05-05T10:01:00.000Z');
    expect(end('2026-05-05T10:01:00Z', { from: '10:00', to: '10:01', time_zone: 'UTC' })).toBeUndefined();
  });
});

describe('quota.reserve in the config', () => {
  const BASE = ['[agent]', 'command = ["claude"]', 'prompt_arg_template = ["{prompt}"]', '[prompt]', 'file = "p.md"', '[quota]'];
  const FILE = '/srv/cfg/agent-runner.toml';
  const load = (line: string) => parseConfig([...BASE, line].join('\n') + '\n', FILE);
  const error = (line: string): ConfigError => {
    try {
      load(line);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('accepted');
  };

  it('accepts a window with a named zone, and one without (the host zone)', () => {
    expect(load('reserve = { from = "22:00", to = "06:00", time_zone = "Asia/Tokyo" }').quota.reserve).toEqual({ from: '22:00', to: '06:00', time_zone: 'Asia/Tokyo' });
    expect(load('reserve = { from = "09:00", to = "18:00" }').quota.reserve).toEqual({ from: '09:00', to: '18:00' });
    expect(load('').quota.reserve).toBeUndefined();
  });

  it.each([
    ['reserve = { from = "09:00", to = "18:00", time_zone = "Europe/Berlon" }', 'quota.reserve.time_zone', /expected an IANA time zone such as "Europe\/Berlin" or "UTC", got the string "Europe\/Berlon"/],
    ['reserve = { from = "9:00", to = "18:00" }', 'quota.reserve.from', /expected a time of day "HH:MM", e.g. "09:00", got the string "9:00"/],
    ['reserve = { from = "09:00", to = "24:00" }', 'quota.reserve.to', /expected a time of day "HH:MM"/],
    ['reserve = { from = "09:00", to = "09:00" }', 'quota.reserve.to', /expected a time other than from = "09:00" \(the window would be empty\)/],
    ['reserve = "09:00-18:00"', 'quota.reserve', /expected a table/],
    ['reserve = { from = "09:00" }', 'quota.reserve.to', /missing required field: expected a time of day "HH:MM"/],
  ])('%s: one line naming the file, the key and what is expected (exit 78)', (line, key, detail) => {
    const e = error(line);
    expect(e.exitCode).toBe(EXIT.CONFIG);
    expect(e.message).toContain(`${FILE}:7: ${key}: `);
    expect(e.message).toMatch(detail);
    expect(e.message).not.toContain('\n');
  });
});
