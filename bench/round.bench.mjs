#!/usr/bin/env node
// Round benchmarks (not part of the test suite; `./build.sh bench` runs every bench/*.bench.mjs).
//
//   A. Supervisor overhead per round: wall time of `agent-runner round` (Node start-up included)
//      minus the agent's own time, with a no-op agent that records when it started and ended.
//      Target: <= 150 ms.
//   B. Kill time for a 50-process tree (some ignore SIGTERM, some escaped with setsid): from the
//      hard timeout firing to the last process gone, as the round_timeout_kill event's kill_ms,
//      checked against /proc afterwards. Target: <= kill_grace_s + 100 ms.
//   C. Where the time goes: the cold `node -e 0` floor, the CLI's module graph, each dependency's
//      import cost, and the fixed costs of a round (git, the flock helper, /proc scans, fsyncs).
//
//   node bench/round.bench.mjs [--runs N] [--kill-runs N]
// Medians and p90 are printed as a table and written to .bench-out/round.json.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/bin/main.js');
const OUT = join(ROOT, '.bench-out');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 30);
const KILL_RUNS = arg('--kill-runs', 10);
const WARMUP = 3;
const KILL_GRACE_S = 1;
const TREE_SIZE = 50;

if (!existsSync(CLI)) {
  process.stderr.write('round.bench: dist/ is missing; build first (./build.sh build)\n');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// helpers

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const quantile = (xs, q) => {
  const s = sorted(xs);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
};
const stats = (xs) => ({ n: xs.length, median: round1(quantile(xs, 0.5)), p90: round1(quantile(xs, 0.9)), min: round1(Math.min(...xs)), max: round1(Math.max(...xs)) });
const round1 = (x) => Math.round(x * 10) / 10;

/** Run a command to completion; resolves with wall ms (spawn to exit), code and output. */
function timed(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: nowMs() - t0, code, stdout, stderr }));
  });
}

async function repeat(n, fn) {
  const out = [];
  for (let i = 0; i < WARMUP; i++) await fn();
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

const git = (dir, ...a) => execFileSync('git', ['-C', dir, '-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { stdio: 'ignore' });

/** A throwaway git project whose config runs `agentScript` under bash, with stdin delivery. */
function project(agentScript, runtime = {}, agentEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-'));
  writeFileSync(join(dir, 'agent.sh'), agentScript);
  writeFileSync(join(dir, 'prompt.md'), 'Benchmark prompt. '.repeat(40) + '\n');
  writeFileSync(join(dir, '.gitignore'), '.agent-runner/\nout/\n');
  mkdirSync(join(dir, 'out'));
  const rt = { work_dir: '.', log_dir: '.agent-runner/logs', round_timeout_s: 60, restart_delay_s: 0, kill_grace_s: KILL_GRACE_S, ...runtime };
  const toml = [
    '[agent]',
    'command = ["bash", "agent.sh"]',
    'prompt_arg_template = []',
    'prompt_delivery = "stdin"',
    '[agent.env]',
    ...Object.entries(agentEnv).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
    '[runtime]',
    ...Object.entries(rt).map(([k, v]) => `${k} = ${typeof v === 'string' ? JSON.stringify(v) : v}`),
    '[prompt]',
    'file = "prompt.md"',
  ].join('\n');
  writeFileSync(join(dir, 'agent-runner.toml'), toml + '\n');
  execFileSync('git', ['init', '-q', dir]);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'init');
  return { dir, config: join(dir, 'agent-runner.toml'), logDir: join(dir, '.agent-runner/logs') };
}

function readEvents(logDir) {
  if (!existsSync(logDir)) return [];
  return readdirSync(logDir)
    .filter((f) => /^events-.*\.jsonl$/.test(f))
    .flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

/** Live (non-zombie) pids whose environment holds `entry`. */
function processesWith(entry) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(entry)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A. overhead per round

async function benchOverhead() {
  // The agent's own time, from its first statement to its last (bash's EPOCHREALTIME: no fork).
  const p = project('echo "$EPOCHREALTIME" > out/start\ncat > /dev/null\necho "$EPOCHREALTIME" > out/end\n');
  const noop = project('exit 0\n');
  try {
    const rows = await repeat(RUNS, async () => {
      const r = await timed(process.execPath, [CLI, 'round', '--config', p.config], { cwd: p.dir });
      if (r.code !== 0) throw new Error(`round exited ${r.code}: ${r.stderr}`);
      const agentMs = (Number(readFileSync(join(p.dir, 'out/end'), 'utf8')) - Number(readFileSync(join(p.dir, 'out/start'), 'utf8'))) * 1000;
      return { wall: r.ms, agent: agentMs, overhead: r.ms - agentMs };
    });
    const noopWall = await repeat(RUNS, async () => {
      const r = await timed(process.execPath, [CLI, 'round', '--config', noop.config], { cwd: noop.dir });
      if (r.code !== 0) throw new Error(`round exited ${r.code}: ${r.stderr}`);
      return r.ms;
    });
    return {
      round_wall_ms: stats(rows.map((r) => r.wall)),
      agent_self_ms: stats(rows.map((r) => r.agent)),
      overhead_ms: stats(rows.map((r) => r.overhead)),
      round_wall_exit0_agent_ms: stats(noopWall),
    };
  } finally {
    rmSync(p.dir, { recursive: true, force: true });
    rmSync(noop.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// B. kill time for a 50-process tree

function treeAgent() {
  const normal = TREE_SIZE - 1 - 10 - 5;
  return [
    'cat > /dev/null',
    // Plain children, then escapees that left the process group, then children ignoring SIGTERM
    // (an ignored signal stays ignored across exec), then the agent itself ignores SIGTERM.
    `for i in $(seq ${normal}); do sleep 300 & done`,
    'for i in $(seq 5); do setsid sleep 300 & done',
    "for i in $(seq 10); do (trap '' TERM; exec sleep 300) & done",
    "trap '' TERM",
    'echo "tree up"',
    'wait',
    '',
  ].join('\n');
}

async function benchKill() {
  const runs = [];
  for (let i = 0; i < KILL_RUNS + 1; i++) {
    const id = randomUUID();
    const marker = `AR_BENCH_ID=${id}`;
    // The marker goes to the agent only (not to round or its lock helper), so /proc tells us
    // exactly which processes belong to the tree.
    const p = project(treeAgent(), { round_timeout_s: 1 }, { AR_BENCH_ID: id });
    try {
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, processesWith(marker).length);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const r = await timed(process.execPath, [CLI, 'round', '--config', p.config], { cwd: p.dir });
      sampling = false;
      await sampler;
      const survivors = processesWith(marker);
      const ev = readEvents(p.logDir).find((e) => e.event === 'round_timeout_kill');
      if (r.code !== 11) throw new Error(`round exited ${r.code}, expected 11: ${r.stderr}`);
      if (!ev) throw new Error('no round_timeout_kill event');
      if (i > 0) runs.push({ kill_ms: ev.kill_ms, wall_ms: r.ms, peak_processes: peak, survivors: survivors.length });
      for (const pid of survivors) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } finally {
      rmSync(p.dir, { recursive: true, force: true });
    }
  }
  return {
    tree_size: TREE_SIZE,
    kill_grace_s: KILL_GRACE_S,
    kill_ms: stats(runs.map((r) => r.kill_ms)),
    round_wall_ms: stats(runs.map((r) => r.wall_ms)),
    peak_processes_seen: Math.max(...runs.map((r) => r.peak_processes)),
    survivors_total: runs.reduce((a, r) => a + r.survivors, 0),
  };
}

// ---------------------------------------------------------------------------------------------
// C. where the time goes

async function benchBreakdown() {
  const node = async (args) => (await repeat(RUNS, async () => (await timed(process.execPath, args)).ms));
  const floor = await node(['-e', '0']);
  const version = await node([CLI, '--version']);
  const help = await node([CLI, 'round', '--help']);

  // Cold import of each dependency, each in a fresh process, timed inside it.
  const importCost = async (spec) => {
    const script = `const t=performance.now(); await import(${JSON.stringify(spec)}); process.stdout.write(String(performance.now()-t));`;
    return stats(await repeat(Math.min(RUNS, 15), async () => Number((await timed(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT })).stdout)));
  };
  const imports = {};
  for (const dep of ['commander', 'valibot', 'smol-toml']) imports[dep] = await importCost(dep);
  imports['dist/config/load.js (config graph)'] = await importCost(pathToFileURL(join(ROOT, 'dist/config/load.js')).href);
  imports['dist/round/round.js (round graph)'] = await importCost(pathToFileURL(join(ROOT, 'dist/round/round.js')).href);

  // Fixed per-round costs, timed from here.
  const p = project('exit 0\n');
  const fixed = {};
  try {
    const cmd = async (c, a) => stats(await repeat(RUNS, async () => (await timed(c, a, { cwd: p.dir })).ms));
    fixed['git rev-parse --is-inside-work-tree'] = await cmd('git', ['-C', p.dir, 'rev-parse', '--is-inside-work-tree']);
    fixed['git status --porcelain -z'] = await cmd('git', ['-C', p.dir, 'status', '--porcelain', '-z']);
    fixed['bash -c exit (agent spawn floor)'] = await cmd('bash', ['-c', 'exit 0']);
    fixed['flock helper: spawn, locked, release'] = stats(
      await repeat(RUNS, async () => {
        const t0 = nowMs();
        const child = spawn('flock', ['--nonblock', join(p.dir, 'bench.lock'), 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
        await new Promise((r) => child.stdout.once('data', r));
        const locked = nowMs() - t0;
        child.stdin.end();
        await new Promise((r) => child.once('close', r));
        return locked;
      }),
    );
    const { findRoundProcesses, listProcesses } = await import(pathToFileURL(join(ROOT, 'dist/proc/procfs.js')).href);
    const { writeJsonAtomic } = await import(pathToFileURL(join(ROOT, 'dist/util/atomic-write.js')).href);
    const inProc = async (fn) => stats(await repeat(RUNS, async () => {
      const t0 = nowMs();
      fn();
      return nowMs() - t0;
    }));
    fixed[`/proc scan for a round marker (${listProcesses().length} processes)`] = await inProc(() => findRoundProcesses({ pgid: -1, marker: 'AGENT_RUNNER_ROUND_ID=none' }));
    fixed['writeJsonAtomic (write, fsync, rename, dir fsync)'] = await inProc(() => writeJsonAtomic(join(p.dir, 'out', 'x.json'), { a: 1 }));
  } finally {
    rmSync(p.dir, { recursive: true, force: true });
  }
  return { node_e0_ms: stats(floor), cli_version_ms: stats(version), cli_round_help_ms: stats(help), import_ms: imports, fixed_ms: fixed };
}

// ---------------------------------------------------------------------------------------------

function line(label, s, target) {
  const verdict = target === undefined ? '' : s.median <= target ? `  ok (target ${target})` : `  OVER (target ${target})`;
  return `${label.padEnd(54)} ${String(s.median).padStart(8)} ${String(s.p90).padStart(8)} ${String(s.min).padStart(8)} ${String(s.max).padStart(8)}${verdict}`;
}

const env = {
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  tmpdir: tmpdir(),
  runs: RUNS,
  kill_runs: KILL_RUNS,
  date: new Date().toISOString(),
  loadavg_before: loadavg().map(round1),
};
process.stderr.write(`round.bench: ${RUNS} runs (+${WARMUP} warm-up) per figure, ${KILL_RUNS} kill runs…\n`);
const overhead = await benchOverhead();
const kill = await benchKill();
const breakdown = await benchBreakdown();

const head = `${'ms'.padEnd(54)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}`;
const killTarget = KILL_GRACE_S * 1000 + 100;
const out = [
  `node ${env.node}, ${env.cpus}, load average ${env.loadavg_before.join(' ')} at start`,
  '',
  head,
  line('A. overhead per round (round wall − agent self time)', overhead.overhead_ms, 150),
  line('   round wall time, recording agent', overhead.round_wall_ms),
  line('   agent self time', overhead.agent_self_ms),
  line('   round wall time, `exit 0` agent', overhead.round_wall_exit0_agent_ms),
  line(`B. kill_ms, ${TREE_SIZE}-process tree, kill_grace_s=${KILL_GRACE_S}`, kill.kill_ms, killTarget),
  line('   round wall time (timeout 1 s + kill + overhead)', kill.round_wall_ms),
  `   processes seen at peak: ${kill.peak_processes_seen}; survivors after the round, all runs: ${kill.survivors_total}`,
  line('C. node -e 0 (floor)', breakdown.node_e0_ms),
  line('   agent-runner --version (start-up + module graph)', breakdown.cli_version_ms),
  line('   agent-runner round --help', breakdown.cli_round_help_ms),
  ...Object.entries(breakdown.import_ms).map(([k, s]) => line(`   import ${k}`, s)),
  ...Object.entries(breakdown.fixed_ms).map(([k, s]) => line(`   ${k}`, s)),
];
process.stdout.write(out.join('\n') + '\n');
mkdirSync(OUT, { recursive: true });
const result = { env, overhead, kill, breakdown, targets: { overhead_ms: 150, kill_ms: killTarget } };
writeFileSync(join(OUT, 'round.json'), JSON.stringify(result, null, 2) + '\n');
process.stderr.write(`round.bench: wrote ${join(OUT, 'round.json')}\n`);
if (kill.survivors_total > 0) {
  process.stderr.write(`round.bench: ${kill.survivors_total} process(es) survived a round kill\n`);
  process.exitCode = 1;
}
