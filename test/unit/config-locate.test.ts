import { describe, expect, it } from 'vitest';
import { didYouMean, locateKey } from '../../src/config/locate.js';

const SRC = [
  '# agent-runner.toml', //  1
  '[agent]', //  2
  'command = [', //  3
  '  "claude",', //  4
  '  ["nested", "array"],', //  5: looks like a header, is not one
  ']', //  6
  'prompt_arg_template = ["{prompt}"]', //  7
  '[agent.env]', //  8
  'TOKEN = "x"', //  9
  '[runtime]  # the loop', // 10
  '  round_timeout_s = 60', // 11
  '"restart_delay_s" = 3', // 12
  '[monitor . host_health]', // 13
  'disk_warning_pct = 90', // 14
  '[monitor]', // 15
  'host_health.mem_avail_min_mb = 5', // 16
  '[phases]', // 17
  'list = ["a"]', // 18
  '[phases.a]', // 19
  'round_timeout_s = 5', // 20
  'prompt = { files = ["x.md"] }', // 21
  '[[plugins.list]]', // 22
  'name = "p"', // 23
].join('\n');

describe('locateKey', () => {
  it.each([
    [['agent', 'command'], 3],
    [['agent', 'prompt_arg_template'], 7],
    [['agent', 'env', 'TOKEN'], 9],
    [['agent', 'env'], 8],
    [['agent'], 2],
    [['runtime', 'round_timeout_s'], 11],
    [['runtime', 'restart_delay_s'], 12],
    [['runtime'], 10],
    [['monitor', 'host_health', 'disk_warning_pct'], 14],
    [['monitor', 'host_health', 'mem_avail_min_mb'], 16],
    [['phases', 'a', 'round_timeout_s'], 20],
    [['phases', 'a', 'prompt', 'files'], 21],
    [['phases', 'list'], 18],
    [['plugins', 'list'], 22],
  ] as Array<[string[], number]>)('%j is on line %i', (path, line) => {
    expect(locateKey(SRC, path)).toBe(line);
  });

  it('an absent key points at the deepest table that would hold it', () => {
    expect(locateKey(SRC, ['runtime', 'max_rounds'])).toBe(10);
    expect(locateKey(SRC, ['phases', 'a', 'disable_pre_round_hooks'])).toBe(19);
    expect(locateKey(SRC, ['agent', 'env', 'OTHER'])).toBe(8);
  });

  it('an absent table has no line (not the line of some unrelated table)', () => {
    expect(locateKey(SRC, ['vcs', 'dirty_action'])).toBeUndefined();
    expect(locateKey('[prompt]\nfile = "p.md"\n', ['agent'])).toBeUndefined();
    expect(locateKey('', ['agent', 'command'])).toBeUndefined();
  });

  it('keys before any header are top-level keys', () => {
    expect(locateKey('runtime = 5\n[agent]\n', ['runtime'])).toBe(1);
    expect(locateKey('runtime.work_dir = "."\n', ['runtime', 'work_dir'])).toBe(1);
  });

  it('comments that mention a key are not the key', () => {
    expect(locateKey('[runtime]\n# round_timeout_s = 1\nround_timeout_s = 2\n', ['runtime', 'round_timeout_s'])).toBe(3);
  });

  it('a key name that is a prefix of another is not confused with it', () => {
    expect(locateKey('[runtime]\nround_timeout_s_old = 1\nround_timeout_s = 2\n', ['runtime', 'round_timeout_s'])).toBe(3);
  });

  it('CRLF sources count lines the same way', () => {
    expect(locateKey('[runtime]\r\nwork_dir = "."\r\nround_timeout_s = 0\r\n', ['runtime', 'round_timeout_s'])).toBe(3);
  });
});

describe('didYouMean', () => {
  const runtimeKeys = ['work_dir', 'log_dir', 'round_timeout_s', 'restart_delay_s', 'max_rounds', 'stop_file'];

  it.each([
    ['round_timout_s', runtimeKeys, 'round_timeout_s'], // a dropped letter
    ['round_timeuot_s', runtimeKeys, 'round_timeout_s'], // a swap
    ['ROUND_TIMEOUT_S', runtimeKeys, 'round_timeout_s'], // case
    ['workdir', runtimeKeys, 'work_dir'],
    ['logdir', runtimeKeys, 'log_dir'],
    ['fiels', ['file', 'files'], 'files'], // a swap beats a deletion plus a substitution
    ['oauth_fial', ['oauth_fail', 'disk_critical'], 'oauth_fail'],
    ['lsit', ['list'], 'list'],
  ])('%s → %s', (word, candidates, want) => {
    expect(didYouMean(word, candidates)).toBe(want);
  });

  it('suggests nothing when no candidate is close', () => {
    expect(didYouMean('frobnicate', runtimeKeys)).toBeUndefined();
    expect(didYouMean('model', ['round_timeout_s', 'disable_pre_round_hooks', 'prompt'])).toBeUndefined();
    expect(didYouMean('x', [])).toBeUndefined();
  });

  it('the allowed distance grows with the word: short words need a close match', () => {
    // 2 edits are allowed for short words …
    expect(didYouMean('ab', ['abcd'])).toBe('abcd');
    expect(didYouMean('ab', ['abcde'])).toBeUndefined();
    // … and about a third of the length for long ones.
    expect(didYouMean('supervisor_stal_thresh', ['supervisor_stale_threshold_s'])).toBe('supervisor_stale_threshold_s');
  });
});
