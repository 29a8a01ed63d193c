// Property tests: whatever the bytes or the TOML, loading a config either succeeds or throws a
// ConfigError with a one-line message (→ exit 78). Never another exception, never a stack trace.
import fc from 'fast-check';
import { stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const PATH = '/tmp/fuzz/agent-runner.toml';

function outcome(source: string): 'ok' | 'config_error' {
  try {
    parseConfig(source, PATH);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${String(e)} for ${JSON.stringify(source).slice(0, 300)}`, { cause: e });
    if (e.message.includes('\n')) throw new Error(`multi-line message: ${JSON.stringify(e.message)}`, { cause: e });
    expect(e.exitCode).toBe(78);
    return 'config_error';
  }
}

const VALID = {
  agent: { command: ['claude', '-p'], prompt_delivery: 'stdin' },
  runtime: { work_dir: '.', log_dir: '/tmp/fuzz/logs', round_timeout_s: 60 },
  prompt: { file: 'p.md' },
  monitor: { host_health: { disk_warning_pct: 80, disk_critical_pct: 90 } },
};

const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('config fuzzing', () => {
  it('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => void outcome(Buffer.from(bytes).toString('utf8'))), { numRuns: 2000 });
  });

  it('arbitrary strings with TOML-ish punctuation', () => {
    const tomlish = fc.array(fc.constantFrom('[', ']', '[[', '=', '"', "'", '\n', 'agent', 'runtime', '.', 'command', '{', '}', ',', '#', 'x', '1', 'true', '"""', '\\'), { maxLength: 60 }).map((a) => a.join(''));
    fc.assert(fc.property(tomlish, (s) => void outcome(s)), { numRuns: 3000 });
  });

  it('arbitrary TOML documents (any tables, keys and value types)', () => {
    const doc = fc.dictionary(fc.constantFrom('agent', 'runtime', 'prompt', 'vcs', 'monitor', 'phases', 'plugins', 'extra'), fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), anyValue, { maxKeys: 5 }), { maxKeys: 5 });
    fc.assert(
      fc.property(doc, (d) => {
        let src: string;
        try {
          src = stringify(d);
        } catch {
          return; // not representable in TOML (e.g. mixed nulls): nothing to load
        }
        outcome(src);
      }),
      { numRuns: 2000 },
    );
  });

  it('one field of a valid config replaced by anything: an error names that exact key', () => {
    const fields = [
      ['agent', 'command'], ['agent', 'prompt_delivery'], ['agent', 'env'], ['runtime', 'round_timeout_s'], ['runtime', 'log_dir'],
      ['runtime', 'kill_grace_s'], ['prompt', 'file'], ['monitor', 'auto_stop_on'], ['monitor', 'host_health'],
    ] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), anyValue, ([section, key], value) => {
        const d = structuredClone(VALID) as Record<string, Record<string, unknown>>;
        d[section]![key] = value;
        let src: string;
        try {
          src = stringify(d);
        } catch {
          return;
        }
        try {
          parseConfig(src, PATH);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          expect((e as ConfigError).key ?? '').toMatch(new RegExp(`^(${section}\\.${key}|prompt\\.(file|files)|agent\\.prompt_arg_template|monitor\\.host_health)`));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the valid base config really is valid', () => {
    expect(outcome(stringify(VALID))).toBe('ok');
  });
});
