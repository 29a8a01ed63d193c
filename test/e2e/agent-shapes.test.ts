import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds, readEvents, REPO, runCli, survivorsOf, useProjects, type EventLine } from '../helpers/project.js';

// The built CLI against bash fake agents that replay the golden fixtures of test/fixtures/agents/.

const { project } = useProjects();
const FIXTURES = join(REPO, 'test/fixtures/agents');
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);

/** A fixture's output as a file in the project, with `edit` applied (e.g. a shorter reset). */
function replay(dir: string, fixture: string, edit: (text: string) => string = (t) => t): string {
  const out = join(dir, 'out', fixture.replaceAll('/', '-'));
  writeFileSync(out, edit(readFileSync(join(FIXTURES, fixture), 'utf8')));
  return out;
}

describe('codex-shaped output', () => {
  it('a usage limit (error, then turn.failed, resets_in_seconds) makes serve wait until the reset, not crash-loop', async () => {
    // crash_loop_threshold = 1: were the limit misread as an unexplained fast failure, the first
    // round alone would halt serve with exit 80.
    const p = project({ runtime: { usage_limit_buffer_s: 0, usage_limit_jitter_s: 0, crash_loop_threshold: 1 } });
    const file = replay(p.dir, 'codex/usage-limit-resets-in.jsonl', (t) => t.replace('5400', '6'));
    writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(`cat:${file};;exit:1`)}`));
    const r = await runCli(['serve', '--config', p.config, '--max-rounds', '2'], { cwd: p.dir, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    expect(kinds(ev)).not.toContain('crash_loop');
    expect(kinds(ev)).not.toContain('halt_recorded');
    const exits = ofKind(ev, 'agent_exit');
    expect(exits[0]).toMatchObject({ outcome: 'error', transient: 'usage_limit' });
    const reset = exits[0]!['reset_at_epoch'] as number;
    // resets_in_seconds counts from when the agent printed it, inside the first round.
    const starts = ofKind(ev, 'round_start');
    expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.parse(starts[0]!.ts) / 1000) + 6);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.parse(ofKind(ev, 'round_end')[0]!.ts) / 1000) + 6);
    const waiting = ofKind(ev, 'serve_waiting')[0]!;
    expect(waiting['reason']).toBe('usage_limit');
    expect(Date.parse(String(waiting['until'])) / 1000).toBeGreaterThanOrEqual(reset);
    expect(starts).toHaveLength(2);
    expect(Date.parse(starts[1]!.ts) / 1000).toBeGreaterThanOrEqual(reset);
    expect(kinds(ev)).toContain('transient_error_recovered');
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('`round` on a codex usage limit exits 16 and records the reset; on refresh_token_reused it is auth_contention, not an auth failure', async () => {
    const p = project();
    const limit = replay(p.dir, 'codex/usage-limit-resets-at.jsonl');
    const setMode = (mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));
    setMode(`cat:${limit};;exit:1`);
    const r = await runCli(['round', '--json', '--config', p.config], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(16);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'error', transient: 'usage_limit', reset_at_epoch: 1767225600 });

    setMode(`cat:${replay(p.dir, 'codex/refresh-token-reused.jsonl')};;exit:1`);
    const r2 = await runCli(['round', '--json', '--config', p.config], { cwd: p.dir });
    expect(JSON.parse(r2.stdout)).toMatchObject({ outcome: 'error', transient: 'auth_contention' });
    // Its own exit code: neither an auth failure (15) nor an unexplained error (10).
    expect(r2.code).toBe(18);
  });
});

describe('claude-shaped output', () => {
  it('allowed_warning on a clean round pauses serve until the window resets (quota pacing), then rounds resume', async () => {
    const p = project({ mode: 'warning_for:6;;commit:1', runtime: { usage_limit_buffer_s: 0 } });
    const r = await runCli(['serve', '--config', p.config, '--max-rounds', '2'], { cwd: p.dir, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    const pause = ofKind(ev, 'quota_pause')[0]!;
    expect(pause).toMatchObject({ round_num: 1, trigger: 'allowed_warning', window: 'five_hour', utilization: 0.93 });
    const reset = pause['reset_at_epoch'] as number;
    expect(ofKind(ev, 'serve_waiting')[0]).toMatchObject({ reason: 'quota', round_num: 1 });
    const starts = ofKind(ev, 'round_start');
    expect(starts).toHaveLength(2);
    expect(Date.parse(starts[1]!.ts) / 1000).toBeGreaterThanOrEqual(reset);
    // A warning is no failure: the round was clean and productive.
    expect(ofKind(ev, 'round_end')[0]).toMatchObject({ outcome: 'clean', verdict: 'productive' });
  });

  it('pacing off (quota.pause_on_warning = false, pause_above = 1): no pause', async () => {
    const p = project({ mode: 'warning_for:600;;commit:1', extraToml: '[quota]\npause_on_warning = false\npause_above = 1' });
    const r = await runCli(['serve', '--config', p.config, '--max-rounds', '2'], { cwd: p.dir, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'quota_pause')).toEqual([]);
    expect(ofKind(ev, 'round_start')).toHaveLength(2);
  });
});
