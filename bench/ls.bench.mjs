#!/usr/bin/env node
// `ls` cost (not part of the test suite; `./build.sh bench` runs every bench/*.bench.mjs).
//
// N projects (default 20) are made with `init --preset demo` and one real round each, in a private
// $XDG_STATE_HOME. Measured: wall time of `ls --json` as a command (Node start-up included), with
// 1 and with N projects registered; and what recording a project costs the verbs that do it (one
// registry write: read the entry, write it atomically with fsync), in-process.
//
//   node bench/ls.bench.mjs [--projects N] [--runs R]
// Prints the figures and writes .bench-out/ls.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/bin/main.js');
const argv = process.argv.slice(2);
const arg = (name, dflt) => Number(argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const PROJECTS = arg('--projects', 20);
const RUNS = arg('--runs', 11);

const scratch = mkdtempSync(join(tmpdir(), 'ar-ls-bench-'));
const env = { ...process.env, XDG_STATE_HOME: join(scratch, 'state'), NO_COLOR: '1', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
const cli = (cwd, ...args) => execFileSync(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];
function timeLs() {
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const doc = JSON.parse(cli(scratch, 'ls', '--json'));
    ms.push(performance.now() - t0);
    if (!doc.projects.every((p) => p.presence === 'ok')) throw new Error('a project did not read');
  }
  return ms;
}

const results = {};
try {
  for (let i = 0; i < PROJECTS; i++) {
    const dir = join(scratch, `p${i}`);
    mkdirSync(dir);
    execFileSync('git', ['init', '-q', dir]);
    writeFileSync(join(dir, 'README'), 'x\n');
    execFileSync('git', ['-C', dir, 'add', '-A'], { env });
    execFileSync('git', ['-C', dir, 'commit', '-qm', 'init'], { env });
    cli(dir, 'init', '--preset', 'demo');
    cli(dir, 'round');
    if (i === 0) results.ls_1_project_ms = timeLs();
  }
  results[`ls_${PROJECTS}_projects_ms`] = timeLs();

  const { recordProject } = await import(pathToFileURL(join(ROOT, 'dist/registry/projects.js')).href);
  const recordEnv = { XDG_STATE_HOME: join(scratch, 'record-state') };
  const rec = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    recordProject({ name: 'p', path: scratch, config: join(scratch, 'agent-runner.toml'), verb: 'round' }, recordEnv);
    rec.push(performance.now() - t0);
  }
  results.record_project_ms = rec;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const summary = Object.fromEntries(Object.entries(results).map(([k, xs]) => [k, { median: Math.round(median(xs) * 100) / 100, p90: Math.round(p90(xs) * 100) / 100, n: xs.length }]));
for (const [k, v] of Object.entries(summary)) console.log(`${k}: median ${v.median} ms, p90 ${v.p90} ms (n=${v.n})`);
mkdirSync(join(ROOT, '.bench-out'), { recursive: true });
writeFileSync(join(ROOT, '.bench-out', 'ls.json'), JSON.stringify({ projects: PROJECTS, runs: RUNS, summary }, null, 2) + '\n');
