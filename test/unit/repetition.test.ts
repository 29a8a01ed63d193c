import { describe, expect, it } from 'vitest';
import { RepetitionTracker, toolTarget } from '../../src/round/repetition.js';

const run = (window: number, threshold: number, calls: Array<[string, string]>) => {
  const t = new RepetitionTracker({ window, threshold });
  const fired = calls.map(([n, x]) => t.note(n, x)).filter((f) => f !== undefined);
  return { fired, findings: t.findings() };
};

describe('RepetitionTracker: a stuck tool loop', () => {
  it('flags the 8th identical Edit in a row (F33), once, with the highest count seen', () => {
    const calls = Array.from({ length: 10 }, (): [string, string] => ['Edit', 'src/a.ts']);
    const { fired, findings } = run(10, 8, calls);
    expect(fired).toEqual([{ tool_name: 'Edit', target: 'src/a.ts', count: 8, window: 10 }]);
    expect(findings).toEqual([{ tool_name: 'Edit', target: 'src/a.ts', count: 10, window: 10 }]);
  });

  it('counts within the sliding window only: spread-out repeats do not fire', () => {
    // Edit a.ts every third call: at most 2 of them in any window of 5.
    const calls: Array<[string, string]> = [];
    for (let i = 0; i < 30; i++) calls.push(i % 3 === 0 ? ['Edit', 'a.ts'] : ['Read', `f${i}`]);
    expect(run(5, 3, calls).findings).toEqual([]);
    expect(run(7, 3, calls).findings).toEqual([{ tool_name: 'Edit', target: 'a.ts', count: 3, window: 7 }]);
  });

  it('tells targets and tools apart', () => {
    const calls: Array<[string, string]> = [['Edit', 'a'], ['Edit', 'b'], ['Read', 'a'], ['Edit', 'a'], ['Edit', 'b']];
    expect(run(5, 3, calls).findings).toEqual([]);
    expect(run(5, 2, calls).findings.map((f) => `${f.tool_name}:${f.target}`)).toEqual(['Edit:a', 'Edit:b']);
  });

  it('reports each finding as it happens, once', () => {
    const seen: unknown[] = [];
    const t = new RepetitionTracker({ window: 4, threshold: 2, onFinding: (f) => seen.push(f) });
    t.note('Bash', 'make');
    expect(seen).toEqual([]);
    t.note('Bash', 'make');
    expect(seen).toEqual([{ tool_name: 'Bash', target: 'make', count: 2, window: 4 }]);
    t.note('Bash', 'make');
    expect(seen).toHaveLength(1);
  });

  it('is off when either the window or the threshold is 0', () => {
    const calls = Array.from({ length: 20 }, (): [string, string] => ['Bash', 'ls']);
    expect(run(0, 3, calls).findings).toEqual([]);
    expect(run(10, 0, calls).findings).toEqual([]);
  });
});

describe('toolTarget', () => {
  it('takes the first string among file_path, path, pattern, command, cut to 100 characters', () => {
    expect(toolTarget({ command: 'ls', path: '/p' })).toBe('/p');
    expect(toolTarget({ pattern: 'TODO', command: 'grep' })).toBe('TODO');
    expect(toolTarget({ file_path: 7, command: 'x' })).toBe('x');
    expect(toolTarget({ command: 'y'.repeat(300) })).toHaveLength(100);
    expect(toolTarget(undefined)).toBe('');
    expect(toolTarget('string input')).toBe('');
  });
});
