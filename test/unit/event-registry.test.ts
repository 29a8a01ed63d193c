import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, isEventKind, type EventKind } from '../../src/events/kinds.js';
import { MONITOR_EVENT_KINDS } from '../../src/events/kinds-monitor.js';
import { EventWriter } from '../../src/events/writer.js';
import { Redactor } from '../../src/util/redact.js';

/**
 * The registry and the code agree both ways: every registered kind is emitted by some code path
 * with a literal kind name (upstream declared kinds that nothing ever emitted), and every literal
 * passed to emit() is registered.
 */

const REPO = resolve(import.meta.dirname, '../..');
const SRC = join(REPO, 'src');
const REGISTRY_FILES = new Set([join(SRC, 'events/kinds.ts'), join(SRC, 'events/kinds-monitor.ts')]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !REGISTRY_FILES.has(p) ? [p] : [];
  });
}

/**
 * `emit('kind'` / `emit("kind"`, also split over lines, or an event handed over as data
 * (`{ kind: 'kind', payload: … }`: the policy's halt decisions, which serve emits). A kind held in
 * a variable does not count.
 */
const EMIT_LITERAL = /(?:\bemit\(\s*(['"])([A-Za-z0-9_.-]+)\1|\bkind: (['"])([A-Za-z0-9_.-]+)\3,\s*payload:)/g;

function emittedLiterals(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const f of sourceFiles(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(EMIT_LITERAL)) {
      const line = text.slice(0, m.index).split('\n').length;
      const kind = (m[2] ?? m[4])!;
      const list = where.get(kind) ?? [];
      list.push(`${relative(REPO, f)}:${line}`);
      where.set(kind, list);
    }
  }
  return where;
}

const EMITTED = emittedLiterals();

describe('event kind registry', () => {
  it('the scan finds emit() calls at all (a broken scan would pass everything)', () => {
    expect(EMITTED.get('round_start')?.some((w) => w.startsWith('src/round/'))).toBe(true);
    expect(EMITTED.size).toBeGreaterThan(10);
  });

  it('every literal passed to emit() is a registered kind', () => {
    const unregistered = [...EMITTED].filter(([k]) => !isEventKind(k)).map(([k, w]) => `${k} (${w.join(', ')})`);
    expect(unregistered).toEqual([]);
  });

  it('every registered kind is emitted somewhere in src/ with a literal kind name', () => {
    const neverEmitted = Object.keys(EVENT_KINDS)
      .filter((k) => !EMITTED.has(k))
      .map((k) => `${k} (${EVENT_KINDS[k as EventKind].layer})`);
    expect(neverEmitted).toEqual([]);
  });

  it('every kind has a layer, a description and snake_case fields', () => {
    for (const [kind, info] of Object.entries(EVENT_KINDS)) {
      expect(kind).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(['round', 'loop', 'monitor', 'service', 'notify']).toContain(info.layer);
      expect(info.description.length, kind).toBeGreaterThan(10);
      for (const f of info.fields) expect(f, kind).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(new Set(info.fields).size, `${kind} lists a field twice`).toBe(info.fields.length);
    }
  });

  it('monitor kinds are not shadowed by a same-named kind of another layer', () => {
    // EVENT_KINDS spreads the monitor table first: a collision would silently replace its entry.
    for (const k of Object.keys(MONITOR_EVENT_KINDS)) expect(EVENT_KINDS[k as EventKind].layer, k).toBe('monitor');
  });
});

describe('EventWriter', () => {
  it('throws on an unknown kind and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-events-'));
    try {
      const w = new EventWriter(dir);
      expect(() => w.emit('round_strat' as 'round_start', { round_num: 1, phase: null, checks: [] })).toThrow('unknown event kind: round_strat');
      // Inherited object keys are not kinds either.
      expect(() => w.emit('toString' as 'serve_reload', { config: 'x' })).toThrow('unknown event kind: toString');
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a registered kind as one Python-style JSON line, with ts and event first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-events-'));
    try {
      const now = Date.UTC(2026, 0, 31, 23, 59, 59, 500);
      new EventWriter(dir, undefined, () => now).emit('round_end', { round_num: 4, outcome: 'clean', duration_s: 1.5 });
      const file = join(dir, 'events-2026-01.jsonl');
      expect(existsSync(file)).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(text.split('\n')).toHaveLength(2);
      expect(text).toMatch(/^\{"ts": "2026-01-31T23:59:59\.500Z", "event": "round_end", "round_num": 4, "outcome": "clean", "duration_s": 1.5\}\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redacts secrets in payloads before they reach the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-events-'));
    try {
      new EventWriter(dir, new Redactor(['super-secret-value'])).emit('smoke_check_failed', { reason: 'token super-secret-value leaked', check: 'x' });
      const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('');
      expect(text).not.toContain('super-secret-value');
      expect(text).toContain('[REDACTED]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
