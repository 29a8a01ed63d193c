import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { standingHalt, type HistoryLog } from '../../src/history/log.js';
import {
  REPO, finish, readEvents, runCli, startCli, waitFor, type Project, useProjects,
} from '../helpers/project.js';

// Every view of a project's history must tell the same story: peek --json, watch's document,
// status --json, probe --json, the monitor's own fold (its state file) and the library's
// readHistory. Real rounds and a real serve with the fake agent write the history: success,
// timeout, crash, a usage-limit wait and its end, an auth-failure halt, resume.

const { project, track } = useProjects();
const scratch = mkdtempSync(join(tmpdir(), 'ar-agree-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

/** What each view says, in one shape. */
interface Story {
  rounds: number;
  last: { round_num: number; outcome: string | null } | null;
  wait: string | null;
  halt: string | null;
  limited: boolean;
  cost_today: number;
}

const setMode = (p: Project, mode: string) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/FAKE_MODE = ".*"/, `FAKE_MODE = ${JSON.stringify(mode)}`));
const setTimeoutS = (p: Project, s: number) => writeFileSync(p.config, readFileSync(p.config, 'utf8').replace(/round_timeout_s = \d+/, `round_timeout_s = ${s}`));
const cli = async (p: Project, args: string[], codes = [0]): Promise<string> => {
  const r = await runCli([...args, '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
  expect(codes, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`).toContain(r.code);
  return r.stdout;
};
const json = async (p: Project, args: string[], codes = [0]): Promise<Doc> => JSON.parse(await cli(p, args, codes)) as Doc;
const RESULT = (usd: number) => `json:{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":${usd}}`;

function fromPeek(d: Doc): Story {
  return {
    rounds: d['counters'].rounds,
    last: d['last_round'] ? { round_num: d['last_round'].round_num, outcome: d['last_round'].outcome } : null,
    wait: d['wait']?.reason ?? null,
    halt: d['halt']?.reason ?? null,
    limited: d['service'].rate_limit !== null,
    cost_today: d['cost'].today_usd,
  };
}

function fromStatus(d: Doc): Story {
  return {
    rounds: d['rounds'],
    last: d['last_round'] ? { round_num: d['last_round'].round_num, outcome: d['last_round'].outcome } : null,
    wait: d['waiting']?.reason ?? null,
    halt: d['halt']?.reason ?? null,
    limited: d['usage_limit'] !== null,
    cost_today: d['cost'].today_usd,
  };
}

function fromProbe(d: Doc): Story {
  const h = d['history'];
  const limited = h.usage_limit !== null;
  // The detector reads the same verdict.
  expect(d['conditions'].some((c: Doc) => c['detector'] === 'rate_limit_active')).toBe(limited);
  return {
    rounds: h.rounds,
    last: h.last_round ? { round_num: h.last_round.round_num, outcome: h.last_round.outcome } : null,
    wait: h.wait?.reason ?? null,
    halt: d['halt']?.reason ?? null,
    limited,
    cost_today: h.cost.today_usd,
  };
}

/** The monitor: its fold as it saved it (what its detectors decided from), and the alerts it raised. */
function fromMonitor(log: HistoryLog, alerts: Doc[]): Story {
  const ended = [...log.rounds].reverse().find((r) => r.ended_at !== null);
  const open = log.waits.at(-1);
  const today = new Date().toISOString().slice(0, 10);
  return {
    rounds: log.newest_round ?? 0,
    last: ended ? { round_num: ended.round_num, outcome: ended.outcome } : null,
    wait: open && open.ended_by === null ? String(open.reason) : null,
    halt: standingHalt(log)?.reason ?? null,
    limited: alerts.some((a) => a['detector'] === 'rate_limit_active' && a['state'] === 'firing'),
    cost_today: log.cost.day === today ? log.cost.usd : 0,
  };
}

// The library as a user imports it: the built package entry point.
const lib = (await import(pathToFileURL(join(REPO, 'dist/index.js')).href)) as typeof import('../../src/index.js');

let monitors = 0;

/** Every view, taken at once while nothing changes, and checked to agree. */
async function views(p: Project): Promise<Story> {
  // A monitor with no state of its own: it derives its fold from the end and prints every firing alert.
  const state = join(scratch, `${p.project}-monitor-${++monitors}.json`);
  const [peek, watch, status, probe, monitorOut] = await Promise.all([
    json(p, ['peek', '--json']),
    json(p, ['watch', '--json', '--count', '1']),
    json(p, ['status', '--json']),
    json(p, ['probe', '--json']),
    cli(p, ['monitor', '--once', '--json', '--no-auto-stop', '--state-file', state], [0, 1, 2]),
  ]);
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { history: { log: HistoryLog } };
  const alerts = monitorOut.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc);
  const library = lib.readHistory(lib.loadConfig(p.config));
  const stories: Record<string, Story> = {
    peek: fromPeek(peek),
    watch: fromPeek(watch),
    status: fromStatus(status),
    probe: fromProbe(probe),
    monitor: fromMonitor(saved.history.log, alerts),
    library: fromPeek({ ...library, service: { rate_limit: library.usage_limit } }),
  };
  // peek's list agrees with its own summary.
  const newestEnded = (peek['recent_rounds'] as Doc[]).find((r) => r['ended_at'] !== null);
  expect(newestEnded ? { round_num: newestEnded['round_num'], outcome: newestEnded['outcome'] } : null).toEqual(stories['peek']!.last);
  for (const [name, story] of Object.entries(stories)) expect({ view: name, ...story }).toEqual({ view: name, ...stories['peek']! });
  return stories['peek']!;
}

/** Spend on today's UTC day, from the events as written. */
function spentToday(p: Project): number {
  const today = new Date().toISOString().slice(0, 10);
  const sum = readEvents(p.logDir)
    .filter((e) => e.event === 'agent_exit' && e.ts.startsWith(today) && typeof e['cost_usd'] === 'number')
    .reduce((a, e) => a + (e['cost_usd'] as number), 0);
  return Math.round(sum * 1e6) / 1e6;
}

describe('one history: every view agrees', () => {
  it('success, timeout, crash, a usage-limit wait and its end, an auth-failure halt, resume', { timeout: 420_000 }, async () => {
    const p = project({ mode: RESULT(0.25), runtime: { usage_limit_buffer_s: 0, usage_limit_jitter_s: 0, crash_loop_threshold: 5 } });

    // Success, with its cost and two commits of the agent's.
    setMode(p, `commit:2;;${RESULT(0.25)}`);
    await cli(p, ['round']);
    expect(await views(p)).toEqual({ rounds: 1, last: { round_num: 1, outcome: 'clean' }, wait: null, halt: null, limited: false, cost_today: spentToday(p) });
    expect(spentToday(p)).toBe(0.25);
    expect(readEvents(p.logDir).find((e) => e.event === 'round_end')).toMatchObject({ round_num: 1, commits: 2 });
    expect(lib.readHistory(lib.loadConfig(p.config)).last_round).toMatchObject({ round_num: 1, commits: 2, cost_usd: 0.25 });

    // A round killed at its hard timeout.
    setMode(p, 'sleep:60');
    setTimeoutS(p, 1);
    await cli(p, ['round'], [11]);
    setTimeoutS(p, 30);
    expect(await views(p)).toMatchObject({ rounds: 2, last: { round_num: 2, outcome: 'timeout' }, wait: null, halt: null });

    // A crash: the agent dies of a signal (a wrapper shell's 128 + SIGSEGV).
    setMode(p, 'text:Segmentation fault;;exit:139');
    await cli(p, ['round'], [13]);
    expect(await views(p)).toMatchObject({ rounds: 3, last: { round_num: 3, outcome: 'signal' }, halt: null });

    // A usage limit: serve waits for the reset without spawning...
    // Far enough ahead that every view is taken inside the wait, even when a loaded host makes
    // each CLI run take seconds (30 s was not, at load average 20).
    const reset = Math.floor(Date.now() / 1000) + 75;
    setMode(p, `json:{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","rateLimitType":"five_hour","resetsAt":${reset}}};;exit:1`);
    const serve = track(startCli(['serve', '--config', p.config, '--max-rounds', '2'], { cwd: p.dir }));
    const served = finish(serve, 200_000);
    await waitFor(() => readEvents(p.logDir).some((e) => e.event === 'serve_waiting'), 'serve waiting on the usage limit', 30_000);
    // The agent is fixed meanwhile; serve takes the config in at SIGHUP, from the next round.
    setMode(p, RESULT(0.5));
    serve.kill('SIGHUP');
    await waitFor(() => readEvents(p.logDir).some((e) => e.event === 'serve_reload'), 'serve reloaded its config');
    const during = await views(p);
    // ...and the views were all taken inside the wait.
    expect(readEvents(p.logDir).filter((e) => e.event === 'round_start')).toHaveLength(4);
    expect(during).toEqual({ rounds: 4, last: { round_num: 4, outcome: 'error' }, wait: 'usage_limit', halt: null, limited: true, cost_today: 0.25 });

    // ...then the wait ends, the next round runs clean, and the limit is over everywhere.
    expect((await served).code).toBe(0);
    expect(readEvents(p.logDir).map((e) => e.event)).toContain('transient_error_recovered');
    expect(await views(p)).toEqual({ rounds: 5, last: { round_num: 5, outcome: 'clean' }, wait: null, halt: null, limited: false, cost_today: 0.75 });

    // An expired login: serve halts on the first auth failure.
    setMode(p, 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key · Please run /login"};;exit:1');
    await cli(p, ['serve'], [81]);
    expect(await views(p)).toEqual({ rounds: 6, last: { round_num: 6, outcome: 'error' }, wait: null, halt: 'auth_failure', limited: false, cost_today: 0.75 });

    // resume clears it everywhere; the next round runs.
    await cli(p, ['resume']);
    expect(await views(p)).toMatchObject({ rounds: 6, halt: null });
    setMode(p, RESULT(0.125));
    await cli(p, ['round']);
    expect(await views(p)).toEqual({ rounds: 7, last: { round_num: 7, outcome: 'clean' }, wait: null, halt: null, limited: false, cost_today: spentToday(p) });
    expect(spentToday(p)).toBe(0.875);
  });
});
