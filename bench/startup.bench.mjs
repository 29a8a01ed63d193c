#!/usr/bin/env node
// Start-up cost of each verb against Node's own start-up (`node -e 0`), measured in the same run.
//
// Two measures:
//   time (default): wall time of N interleaved pairs (floor, verb), medians and the ratio of the
//     medians. Meaningful on an idle machine only.
//   --instructions: instructions executed (valgrind --tool=callgrind), once per command. Counts
//     do not depend on what else the machine is doing, so before/after comparisons hold on a busy
//     box; they weigh a syscall or a page fault as nothing, so time ratios come out a little higher.
//
//   node bench/startup.bench.mjs [--runs 10] [--rounds 250000] [--instructions] [--cli PATH] [--baseline PATH]
// --baseline measures a second build (e.g. a copy of main's dist/bin/main.js) in the same run, each
// of its pairs interleaved with the CLI's, for a before/after table.
// Prints a table and writes .bench-out/startup.json (or startup-instructions.json).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateHistory } from './gen-history.mjs';
import { CLI as BUILT_CLI, flag, loadAverage, opt, OUT, quantile, requireDist, ROOT } from './lib.mjs';

const RUNS = Number(opt('--runs', 10));
const ROUNDS = Number(opt('--rounds', 250000));
const INSTRUCTIONS = flag('--instructions');
const CLI = resolve(opt('--cli', BUILT_CLI));
const BASELINE = opt('--baseline') && resolve(opt('--baseline'));

requireDist('startup.bench');
mkdirSync(OUT, { recursive: true });
const project = generateHistory(join(OUT, `history-${ROUNDS}`), ROUNDS);
const config = join(project, 'agent-runner.toml');
const state = mkdtempSync(join(tmpdir(), 'ar-startup-state-'));
const env = { ...process.env, XDG_STATE_HOME: state, NO_COLOR: '1' };
// `ls` lists what the registry holds: this project, recorded as a round records it.
const { recordProject } = await import(pathToFileURL(join(ROOT, 'dist/registry/projects.js')).href);
recordProject({ name: 'bench', path: project, config, verb: 'round' }, env);

const CASES = [
  ['--version', ['--version']],
  ['a config error (exit 78)', ['status', '--config', join(project, 'missing.toml')]],
  [`peek --json, ${ROUNDS} rounds`, ['peek', '--json', '--config', config]],
  ['status --json', ['status', '--json', '--config', config]],
  ['ls --json', ['ls', '--json']],
  ['monitor --once --json', ['monitor', '--once', '--json', '--no-auto-stop', '--config', config]],
  ['probe --json', ['probe', '--json', '--config', config]],
];
const FLOOR = ['-e', '0'];

const median = (xs) => quantile(xs, 0.5);
const timeOnce = (args) => {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, args, { env, cwd: project, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const instructionsOf = (args) => {
  const out = join(state, `cg-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, ...args], { env, cwd: project, encoding: 'utf8' });
  const m = /Collected : (\d+)/.exec(r.stderr ?? '');
  rmSync(out, { force: true });
  if (!m) throw new Error(`callgrind gave no count for ${args.join(' ')}: ${(r.stderr ?? '').slice(-300)}`);
  return Number(m[1]);
};

const load = loadAverage()[0];
const BUILDS = BASELINE ? [['before', BASELINE], ['after', CLI]] : [['cli', CLI]];
const rows = [];
const x = (n) => `${n.toFixed(2)}×`;
if (INSTRUCTIONS) {
  const floor = instructionsOf(FLOOR);
  for (const [name, args] of CASES) {
    const row = { name, floor };
    for (const [build, cli] of BUILDS) {
      row[build] = instructionsOf([cli, ...args]);
      row[`${build}_ratio`] = row[build] / floor;
    }
    rows.push(row);
  }
  console.log(`start-up in instructions (callgrind), node -e 0 = ${(floor / 1e6).toFixed(0)} M; load average ${load}`);
  console.log(`| command | ${BUILDS.map(([b]) => `${b} | against node -e 0`).join(' | ')} |\n|---|${BUILDS.map(() => '---|---|').join('')}`);
  for (const r of rows) console.log(`| ${r.name} | ${BUILDS.map(([b]) => `${(r[b] / 1e6).toFixed(0)} M | ${x(r[`${b}_ratio`])}`).join(' | ')} |`);
} else {
  for (const [name, args] of CASES) {
    for (const [, cli] of BUILDS) for (let i = 0; i < 2; i++) timeOnce([cli, ...args]);
    const f = [];
    const c = Object.fromEntries(BUILDS.map(([b]) => [b, []]));
    for (let i = 0; i < RUNS; i++) {
      f.push(timeOnce(FLOOR));
      for (const [b, cli] of BUILDS) c[b].push(timeOnce([cli, ...args]));
    }
    const row = { name, floor_ms: median(f) };
    for (const [b] of BUILDS) {
      row[`${b}_ms`] = median(c[b]);
      row[`${b}_ratio`] = median(c[b]) / median(f);
    }
    rows.push(row);
  }
  console.log(`start-up, ${RUNS} interleaved runs each; load average ${load} at the start, ${loadAverage()[0]} at the end`);
  console.log(`| command | node -e 0 | ${BUILDS.map(([b]) => `${b} | ratio`).join(' | ')} |\n|---|---|${BUILDS.map(() => '---|---|').join('')}`);
  for (const r of rows) console.log(`| ${r.name} | ${r.floor_ms.toFixed(0)} ms | ${BUILDS.map(([b]) => `${r[`${b}_ms`].toFixed(0)} ms | ${x(r[`${b}_ratio`])}`).join(' | ')} |`);
}
writeFileSync(join(OUT, INSTRUCTIONS ? 'startup-instructions.json' : 'startup.json'), JSON.stringify({ cli: CLI, baseline: BASELINE ?? null, rounds: ROUNDS, load, rows }, null, 2));
rmSync(state, { recursive: true, force: true });
