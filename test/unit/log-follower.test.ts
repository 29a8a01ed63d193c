import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogFollower } from '../../src/round/log-follower.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function logFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'ar-follow-'));
  dirs.push(d);
  const f = join(d, 'R1.log');
  writeFileSync(f, '');
  return f;
}

const filler = (bytes: number) => `${'x'.repeat(99)}\n`.repeat(Math.ceil(bytes / 100));
const RESULT = '{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.42}';

describe('LogFollower: capping the round log', () => {
  it('reads the final result line that arrives in the same poll as a flood', () => {
    const f = logFile();
    appendFileSync(f, '{"type":"system","subtype":"init","model":"m"}\n' + filler(300_000) + RESULT + '\n');
    const follower = new LogFollower(f, 100_000);
    follower.poll();
    follower.finish();
    follower.close();
    const text = readFileSync(f, 'utf8');
    expect(text).toContain('bytes elided');
    expect(text.trimEnd().endsWith(RESULT)).toBe(true);
    expect(follower.stream.resultSeen).toBe(true);
    expect(follower.stream.costUsd).toBe(0.42);
  });

  it('keeps reading across a rewrite: lines already begun are completed, none is read twice', () => {
    const f = logFile();
    const follower = new LogFollower(f, 100_000);
    appendFileSync(f, '{"type":"system","subtype":"init","model":"m"}\n' + filler(40_000));
    follower.poll();
    const before = follower.stream.lines;
    appendFileSync(f, filler(90_000) + RESULT + '\n');
    follower.poll();
    follower.finish();
    follower.close();
    expect(follower.stream.resultSeen).toBe(true);
    // 400 + 900 filler lines, the init and the result: at most every line once.
    expect(follower.stream.lines).toBeLessThanOrEqual(before + 901);
  });

  it('holds the writers for the rewrite and measures the log again once they are held', () => {
    const f = logFile();
    const follower = new LogFollower(f, 100_000);
    const calls: string[] = [];
    follower.holdWriters = () => {
      calls.push('hold');
      // What the agent wrote just before it was held is part of the log being rewritten.
      appendFileSync(f, 'LAST-WORDS\n');
      return () => calls.push('release');
    };
    appendFileSync(f, filler(300_000));
    follower.poll();
    follower.close();
    expect(calls).toEqual(['hold', 'release']);
    expect(readFileSync(f, 'utf8').trimEnd().endsWith('LAST-WORDS')).toBe(true);
  });
});
