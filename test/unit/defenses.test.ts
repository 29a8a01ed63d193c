import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { defenses, type Defense, type HostFacts } from '../../src/defenses/catalog.js';

const REPO = resolve(import.meta.dirname, '../..');
const LINUX: HostFacts = { procfs: true, flock: true };
const BASE = ['[agent]', 'command = ["claude"]', 'prompt_arg_template = []', 'prompt_delivery = "stdin"', '[prompt]', 'file = "p.md"'];
const cfgOf = (...lines: string[]) => parseConfig([...BASE, ...lines].join('\n') + '\n', '/srv/p/agent-runner.toml');
const byName = (list: Defense[]) => new Map(list.map((d) => [d.name, d]));

const DEFAULTS = defenses(cfgOf(), LINUX);

/** Upstream's twelve (§10 of the reference), under the name ours carries. */
const UPSTREAM_TWELVE: Record<string, string> = {
  round_timeout_s: 'round_timeout_s',
  process_group_isolation: 'process_group_isolation',
  sigterm_reaper: 'signal_forwarding',
  orphan_stash_idempotency_s: 'orphan_stash_idempotency_s',
  sha_locked_stash: 'sha_addressed_snapshots',
  set_diff_classification: 'no_diff_parsing',
  critical_envs_injection: 'critical_envs_injection',
  startup_smoke_check: 'startup_smoke_check',
  crash_loop_breaker: 'crash_loop_breaker',
  flock_concurrency: 'flock_concurrency',
  atomic_state_writes: 'atomic_state_writes',
  event_kind_registry: 'event_kind_registry',
};

/** Every guard problem at once, so a failure lists all missing files and markers, not the first. */
function guardProblems(list: Defense[]): string[] {
  const problems: string[] = [];
  for (const d of list) {
    const file = join(REPO, d.guarded_by);
    if (!existsSync(file)) {
      problems.push(`${d.name}: guard ${d.guarded_by} does not exist`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    const missing = d.exercises.filter((w) => !text.includes(w));
    if (missing.length) problems.push(`${d.name}: ${d.guarded_by} never mentions ${missing.map((w) => JSON.stringify(w)).join(', ')}`);
  }
  return problems;
}

describe('the defenses catalog', () => {
  it('has upstream\'s twelve, renamed where ours works differently', () => {
    const names = byName(DEFAULTS);
    for (const [upstream, ours] of Object.entries(UPSTREAM_TWELVE)) {
      const d = names.get(ours);
      expect(d, `${upstream} → ${ours}`).toBeDefined();
      if (ours !== upstream) expect(d!.upstream).toBe(upstream);
      else expect(d!.upstream).toBeUndefined();
    }
    expect(DEFAULTS.length).toBeGreaterThan(12);
  });

  it('names are unique snake_case and every entry is complete', () => {
    expect(new Set(DEFAULTS.map((d) => d.name)).size).toBe(DEFAULTS.length);
    for (const d of DEFAULTS) {
      expect(d.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(d.codifies.length, d.name).toBeGreaterThan(20);
      expect(d.exercises.length, d.name).toBeGreaterThan(0);
      expect(['active', 'degraded', 'off']).toContain(d.current_state);
      // A state other than active always says why.
      expect(d.current_state === 'active' ? d.note : d.note?.length, d.name).toEqual(d.current_state === 'active' ? undefined : expect.any(Number));
      expect(d.guarded_by).toMatch(/^test\/.+\.test\.ts$/);
    }
  });

  it('every guard file exists and mentions what it exercises', () => {
    // Fails listing every defense whose guard is missing or does not drive it.
    expect(guardProblems(DEFAULTS)).toEqual([]);
  });

  it('the guard check itself catches a missing file and a missing marker', () => {
    const fake: Defense[] = [
      { ...DEFAULTS[0]!, name: 'a', guarded_by: 'test/e2e/no-such.test.ts' },
      { ...DEFAULTS[0]!, name: 'b', exercises: ['round_timeout_kill', 'no such marker anywhere 12345'] },
    ];
    expect(guardProblems(fake)).toEqual([
      'a: guard test/e2e/no-such.test.ts does not exist',
      `b: ${DEFAULTS[0]!.guarded_by} never mentions "no such marker anywhere 12345"`,
    ]);
  });
});

describe('values and states come from the live config', () => {
  it('defaults: grace and idle timeout off, env injection off, stash defenses active', () => {
    const d = byName(DEFAULTS);
    expect(d.get('round_timeout_s')).toMatchObject({ value: 1800, current_state: 'active' });
    expect(d.get('post_result_grace')).toMatchObject({ value: 0, current_state: 'off', note: 'runtime.max_grace_after_result_s = 0' });
    expect(d.get('idle_timeout')).toMatchObject({ value: 0, current_state: 'off' });
    expect(d.get('critical_envs_injection')).toMatchObject({ value: [], current_state: 'off', note: '[agent.env] is empty' });
    expect(d.get('orphan_stash_idempotency_s')).toMatchObject({ value: 5, current_state: 'active' });
    expect(d.get('sha_addressed_snapshots')?.current_state).toBe('active');
    expect(d.get('stdin_prompt_delivery')).toMatchObject({ value: 'stdin', current_state: 'active' });
    expect(d.get('usage_limit_wait')?.current_state).toBe('active');
  });

  it('settings switch defenses on, change their values, or turn them off', () => {
    const d = byName(
      defenses(
        cfgOf(
          '[agent.env]',
          'DISABLE_AUTOUPDATER = "1"',
          'CLAUDE_CODE_EFFORT_LEVEL = "high"',
          '[runtime]',
          'round_timeout_s = 600',
          'max_grace_after_result_s = 30',
          'idle_timeout_s = 300',
          'kill_grace_s = 2',
          'transient_error_action = "stop"',
          '[vcs]',
          'dirty_action = "auto_commit"',
          'stash_idempotency_s = 9',
          '[phases]',
          'list = ["build", "review"]',
          '[phases.review]',
          'round_timeout_s = 60',
        ),
        LINUX,
      ),
    );
    expect(d.get('round_timeout_s')).toMatchObject({ value: '600 (review: 60)', current_state: 'active' });
    expect(d.get('post_result_grace')).toMatchObject({ value: 30, current_state: 'active' });
    expect(d.get('idle_timeout')).toMatchObject({ value: 300, current_state: 'active' });
    expect(d.get('critical_envs_injection')).toMatchObject({ value: ['CLAUDE_CODE_EFFORT_LEVEL', 'DISABLE_AUTOUPDATER'], current_state: 'active' });
    expect(String(d.get('signal_forwarding')?.value)).toContain('TERM, 2s, KILL');
    expect(d.get('orphan_stash_idempotency_s')).toMatchObject({ value: 9, current_state: 'off' });
    expect(d.get('sha_addressed_snapshots')?.current_state).toBe('off');
    expect(d.get('usage_limit_wait')).toMatchObject({ current_state: 'off', note: 'runtime.transient_error_action = "stop"' });
    expect(d.get('transient_backoff')?.current_state).toBe('off');
  });

  it('stash defenses stay active when only failed rounds are stashed', () => {
    const d = byName(defenses(cfgOf('[vcs]', 'dirty_action = "ignore"', 'dirty_action_on_failure = "stash"'), LINUX));
    expect(d.get('orphan_stash_idempotency_s')?.current_state).toBe('active');
  });

  it('argv delivery turns stdin_prompt_delivery off', () => {
    const cfg = parseConfig('[agent]\ncommand = ["x"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n', '/p/c.toml');
    expect(byName(defenses(cfg, LINUX)).get('stdin_prompt_delivery')).toMatchObject({ value: 'argv', current_state: 'off' });
  });

  it('a host without /proc or flock(1) degrades the defenses that need them, and says why', () => {
    const d = byName(defenses(cfgOf(), { procfs: false, flock: false }));
    for (const name of ['process_group_isolation', 'post_exit_sweep', 'stale_round_recovery', 'flock_concurrency']) {
      expect(d.get(name)?.current_state, name).toBe('degraded');
      expect(d.get(name)?.note, name).toBeTruthy();
    }
    expect(String(d.get('flock_concurrency')?.value)).toContain('O_EXCL');
    expect(d.get('round_timeout_s')?.current_state).toBe('active');
  });

  it('the event registry entry counts the registered kinds', async () => {
    const { EVENT_KINDS } = await import('../../src/events/kinds.js');
    expect(byName(DEFAULTS).get('event_kind_registry')?.value).toBe(`${Object.keys(EVENT_KINDS).length} registered kinds; emitting an unregistered kind throws`);
  });
});
