/**
 * PURE: the daily window (quota.reserve) in which the human keeps the agent's quota for
 * themselves. Times are wall-clock times in a named IANA zone, read through Intl, so a window
 * crossing midnight and the days a zone changes to or from daylight saving time both come out
 * right without a time-zone library.
 */

export interface ReserveWindow {
  /** "HH:MM", local time in time_zone: the window opens. */
  from: string;
  /** "HH:MM", local time in time_zone: the window closes (earlier than from: it crosses midnight). */
  to: string;
  /** An IANA zone, e.g. "Europe/Berlin"; unset: the host's zone. */
  time_zone?: string | undefined;
}

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** Minutes after midnight of an "HH:MM"; undefined when it is not one. */
export function minutesOf(hhmm: string): number | undefined {
  const m = HHMM.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** Whether Intl knows the zone (Node ships the full ICU data). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function hostTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock reading in `zone` at `ms`. */
function wallAt(ms: number, zone: string): Wall {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(f.formatToParts(ms).find((p) => p.type === type)?.value ?? 0);
  return { year: part('year'), month: part('month'), day: part('day'), hour: part('hour'), minute: part('minute'), second: part('second') };
}

/** How far `zone` is ahead of UTC at `ms`, in ms. */
function offsetAt(ms: number, zone: string): number {
  const w = wallAt(ms, zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time occurs in `zone`. Two passes settle the offset around a DST change;
 * a time in the spring-forward gap comes out shifted forward by the gap's length (as java.time does),
 * an ambiguous autumn time at one of its two instants.
 */
function instantOf(year: number, month: number, day: number, minutes: number, zone: string): number {
  const asUtc = Date.UTC(year, month - 1, day, Math.floor(minutes / 60), minutes % 60);
  const first = asUtc - offsetAt(asUtc, zone);
  return asUtc - offsetAt(first, zone);
}

/**
 * When the reserve window that holds `nowMs` ends (epoch ms), or undefined when `nowMs` is outside
 * it. from == to is an empty window (the config loader refuses it).
 */
export function reserveWindowEnd(nowMs: number, r: ReserveWindow): number | undefined {
  const from = minutesOf(r.from);
  const to = minutesOf(r.to);
  if (from === undefined || to === undefined || from === to) return undefined;
  const zone = r.time_zone ?? hostTimeZone();
  const w = wallAt(nowMs, zone);
  const now = w.hour * 60 + w.minute;
  const inside = from < to ? now >= from && now < to : now >= from || now < to;
  if (!inside) return undefined;
  // The end is today's `to`, unless the window crossed midnight and we are before midnight.
  const tomorrow = from > to && now >= from;
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + (tomorrow ? 1 : 0)));
  const end = instantOf(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), to, zone);
  // A `to` inside a spring-forward gap can land at or before now; never return an end in the past.
  return end > nowMs ? end : nowMs + 60_000;
}
