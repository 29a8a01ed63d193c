import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTH_FAIL_PATTERN, DEFAULT_NETWORK_FAIL_PATTERN } from '../../src/config/schema.js';
import { classifyText, feedLine, newStreamState } from '../../src/round/stream-json.js';
import type { SuperviseResult } from '../../src/round/supervise.js';
import { needsTextFallback, translateRound } from '../../src/round/translate.js';
import { REPO } from '../helpers/project.js';

// The golden fixtures: one recorded-shape output per way each agent CLI ends a round, each with a
// sidecar declaring where the shape comes from and how the round must be classified. The output
// goes through what a round does with it (the stream reader, the text fallback, the translator).

const DIR = join(REPO, 'test/fixtures/agents');
/** The fixtures' clock: relative resets ("try again in 2 hours") count from here. */
const NOW_MS = 1767214800_000;

interface Sidecar {
  source: string;
  why?: string;
  exit: { code?: number; killed_by?: 'timeout' };
  work: { commits: number; files: number };
  expect: {
    outcome: string;
    transient: string | null;
    /** The round's verdict (src/round/verdict.ts) given the sidecar's work. */
    verdict: string;
    /** A failure no known shape explains: unrecognized_failure quotes its line. */
    unrecognized?: boolean;
    reset_at_epoch?: number;
    retries?: number;
    tool_calls?: number;
    output_tokens?: number;
    rate_limit_status?: string;
    rate_limit_utilization?: number;
  };
}

interface Fixture {
  cli: string;
  name: string;
  output: string;
  side: Sidecar;
}

function loadFixtures(): Fixture[] {
  const out: Fixture[] = [];
  for (const cli of readdirSync(DIR).sort()) {
    for (const f of readdirSync(join(DIR, cli)).filter((n) => n.endsWith('.json')).sort()) {
      const name = f.slice(0, -'.json'.length);
      const file = ['.jsonl', '.txt'].map((ext) => join(DIR, cli, name + ext)).find((p) => existsSync(p));
      if (!file) throw new Error(`${cli}/${f} has no output file (.jsonl or .txt)`);
      out.push({ cli, name, output: readFileSync(file, 'utf8'), side: JSON.parse(readFileSync(join(DIR, cli, f), 'utf8')) as Sidecar });
    }
  }
  return out;
}

const FIXTURES = loadFixtures();
const patterns = { auth: [new RegExp(DEFAULT_AUTH_FAIL_PATTERN, 'i')], network: [new RegExp(DEFAULT_NETWORK_FAIL_PATTERN, 'i')] };

/** What settle does with a finished round's output, with the fixture's exit and work. */
function judge(fx: Fixture) {
  const stream = newStreamState();
  for (const line of fx.output.split('\n')) feedLine(stream, line, NOW_MS);
  const killedBy = fx.side.exit.killed_by;
  const exit: SuperviseResult = {
    exitCode: killedBy ? null : (fx.side.exit.code ?? 0),
    signal: killedBy ? 'SIGTERM' : null,
    ...(killedBy ? { killedBy } : {}),
    leftoversKilled: 0,
    liveChildrenAtGrace: [],
  };
  const didWork = fx.side.work.commits > 0 || fx.side.work.files > 0;
  const textTransient = needsTextFallback(exit, stream, didWork) ? classifyText(fx.output, patterns, NOW_MS) : undefined;
  const record = translateRound({
    roundNum: 1,
    phase: undefined,
    phaseIndex: undefined,
    agent: fx.cli,
    timeoutS: 600,
    idleTimeoutS: 0,
    graceAfterResultS: 0,
    exit,
    durationS: 5,
    endedAt: '2025-12-31T21:00:05.000Z',
    oom: { inRound: 0, serviceBefore: undefined, serviceAfter: undefined },
    stream,
    textTransient,
    dirtyFiles: Array.from({ length: fx.side.work.files }, (_, i) => `f${i}.txt`),
    commits: fx.side.work.commits,
    headMoved: fx.side.work.commits > 0,
    logPath: '/logs/R1.log',
  });
  return { stream, record };
}

describe('golden agent fixtures', () => {
  it('every verdict has a fixture', () => {
    expect(new Set(FIXTURES.map((f) => f.side.expect.verdict))).toEqual(new Set(['productive', 'no_op', 'limited', 'auth_failed', 'failed', 'timeout']));
  });

  it('cover every CLI with a success, a usage limit, an auth failure, a transient error and an exit 0 with no work', () => {
    for (const cli of ['claude', 'codex', 'gemini', 'aider']) {
      const mine = FIXTURES.filter((f) => f.cli === cli);
      const transients = new Set(mine.map((f) => f.side.expect.transient));
      expect(transients, cli).toEqual(new Set([null, 'usage_limit', 'auth_failure', 'network', ...(cli === 'codex' ? ['auth_contention'] : [])]));
      expect(mine.some((f) => f.name === 'success'), cli).toBe(true);
      expect(mine.some((f) => f.name === 'exit0-no-work'), cli).toBe(true);
    }
  });

  it.each(FIXTURES.map((f) => [`${f.cli}/${f.name}`, f] as const))('%s', (_id, fx) => {
    expect(fx.side.source.length).toBeGreaterThan(10);
    const { stream, record } = judge(fx);
    const want = fx.side.expect;
    expect(record.classification.outcome).toBe(want.outcome);
    expect(record.classification.transient ?? null).toBe(want.transient);
    expect(record.verdict).toBe(want.verdict);
    const unrecognized = record.exitEvents.find((e) => e.kind === 'unrecognized_failure');
    expect(unrecognized !== undefined).toBe(want.unrecognized === true);
    if (unrecognized) expect((unrecognized.payload as { sample: string }).sample).toBe(stream.failureLine ?? '');
    const exit = record.exitEvents.find((e) => e.kind === 'agent_exit')!.payload as { reset_at_epoch: number | null };
    if (want.reset_at_epoch !== undefined) expect(exit.reset_at_epoch).toBe(want.reset_at_epoch);
    else if (want.transient !== 'usage_limit') expect(exit.reset_at_epoch).toBeNull();
    if (want.retries !== undefined) expect(stream.retries).toBe(want.retries);
    if (want.tool_calls !== undefined) expect(stream.toolCalls).toBe(want.tool_calls);
    if (want.output_tokens !== undefined) expect(stream.usage?.output_tokens).toBe(want.output_tokens);
    if (want.rate_limit_status !== undefined) expect(stream.rateLimit?.status).toBe(want.rate_limit_status);
    if (want.rate_limit_utilization !== undefined) expect(stream.rateLimit?.utilization).toBe(want.rate_limit_utilization);
  });
});
