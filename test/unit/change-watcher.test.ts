import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChangeWatcher } from '../../src/monitor/change-watcher.js';

const dirs: string[] = [];
const watchers: ChangeWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ar-watch-'));
  dirs.push(d);
  return d;
}

function counting(dir: string, opts: ConstructorParameters<typeof ChangeWatcher>[2] = {}) {
  const seen = { calls: 0 };
  const w = new ChangeWatcher(dir, () => seen.calls++, opts);
  watchers.push(w);
  return { seen, w };
}

async function until(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ChangeWatcher: what changed under log_dir', () => {
  it('an append to the events file is reported, and a burst of them is one call', async () => {
    const dir = tempDir();
    const events = join(dir, 'events-2026-12.jsonl');
    writeFileSync(events, '');
    const { seen, w } = counting(dir, { fallbackMs: 600_000 });
    expect(w.watching).toBe(true);
    for (let i = 0; i < 50; i++) appendFileSync(events, `{"event":"x","n":${i}}\n`);
    await until(() => seen.calls >= 1, 'the burst reported');
    // One more change, after the burst was reported: the second call is that one.
    appendFileSync(events, '{"event":"y"}\n');
    await until(() => seen.calls >= 2, 'the next change reported');
    expect(seen.calls).toBe(2);
  });

  it('a state file replaced by rename (an atomic write) is reported; a metrics sample is not', async () => {
    const dir = tempDir();
    const { seen } = counting(dir, { fallbackMs: 600_000 });
    writeFileSync(join(dir, 'metrics-2026-12.jsonl'), '{}\n');
    writeFileSync(join(dir, '.status.json.1.tmp'), '{"phase":"agent"}');
    renameSync(join(dir, '.status.json.1.tmp'), join(dir, 'status.json'));
    await until(() => seen.calls >= 1, 'the rename reported');
  });

  it('a log_dir that does not exist yet: its creation is seen by the slow poll, and then watched', async () => {
    const dir = join(tempDir(), 'logs');
    const { seen, w } = counting(dir, { fallbackMs: 50 });
    expect(w.watching).toBe(false);
    mkdirSync(dir);
    writeFileSync(join(dir, 'events-2026-12.jsonl'), '{"event":"x"}\n');
    await until(() => seen.calls >= 1 && w.watching, 'the new directory reported and watched');
  });

  it('without inotify (pollOnly) a change is still seen, by sizes and times', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'status.json'), '{}');
    const { seen, w } = counting(dir, { pollOnly: true, fallbackMs: 50 });
    expect(w.watching).toBe(false);
    appendFileSync(join(dir, 'status.json'), ' ');
    await until(() => seen.calls >= 1, 'the change seen by the slow poll');
  });

  it('a log_dir deleted and made again is watched again', async () => {
    const parent = tempDir();
    const dir = join(parent, 'logs');
    mkdirSync(dir);
    const { seen, w } = counting(dir, { fallbackMs: 50 });
    rmSync(dir, { recursive: true });
    await until(() => !w.watching, 'the old watch dropped');
    const before = seen.calls;
    mkdirSync(dir);
    await until(() => w.watching, 'watched again');
    writeFileSync(join(dir, 'events-2026-12.jsonl'), '{"event":"x"}\n');
    await until(() => seen.calls > before, 'a change in the new directory');
  });
});
