#!/usr/bin/env node
// Isolation benchmarks (not part of the test suite; `./build.sh bench` runs every bench/*.bench.mjs).
//
//   A. The wrapper alone: spawn-to-exit of `true` behind each round wrapper — none; a cgroup2
//      directory of its own (mkdir, the entering `sh`, rmdir: what a Delegate=yes subtree would do
//      too); bwrap; bwrap with network = false; a systemd scope (`systemd-run --user --scope`, in a
//      private user manager; its baseline is the same `nsenter` without the scope).
//   B. A whole `agent-runner round` with a no-op agent in each mode: off (cgroup = "off"), direct
//      cgroup, direct cgroup with limits, bwrap; and under a transient service of the private user
//      manager, scope against cgroup = "off".
//
//   node bench/isolation.bench.mjs [--runs N] [--wrappers-only]
// Needs root (cgroupfs writes, the private manager). Medians and p90 are printed and written to
// .bench-out/isolation.json. A mode this host cannot run is reported as skipped, with why.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, flag, loadAverage, nowMs, opt, OUT, r1 as round1, requireDist, ROOT, stats } from './lib.mjs';

const RUNS = Number(opt('--runs', 20));
const WRAPPERS_ONLY = flag('--wrappers-only');
const WARMUP = 3;

requireDist('isolation.bench');

function timed(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: nowMs() - t0, code, stderr }));
  });
}

async function ok(cmd, args, opts) {
  const r = await timed(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.ms;
}

// The layout, as agent-runner reads it (the built module, not a copy).
const { readCgroupLayout, directCgroupUnavailable } = await import(pathToFileURL(join(ROOT, 'dist/isolation/cgroup.js')).href);
const { cgroupDir } = await import(pathToFileURL(join(ROOT, 'dist/isolation/cgroup-layout.js')).href);
const layout = readCgroupLayout();
const directWhy = directCgroupUnavailable(layout);
const bwrapWhy = (() => {
  try {
    execFileSync('bwrap', ['--ro-bind', '/', '/', '--unshare-net', '--', 'true'], { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    return err.code === 'ENOENT' ? 'bwrap is not installed' : 'bwrap cannot make namespaces here';
  }
})();

const ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';
const BWRAP = ['--die-with-parent', '--ro-bind', '/', '/', '--dev', '/dev', '--tmpfs', '/tmp'];

const result = { host: { cpus: cpus().length, loadavg: loadAverage(), layout: layout.kind, node: process.version }, wrapper: {}, round: {}, skipped: {} };

// ---------------------------------------------------------------------------------------------
// A. the wrapper alone

const wrappers = { none: () => ok('/bin/true', []) };
if (!directWhy) {
  let k = 0;
  wrappers.direct_cgroup = async () => {
    const t0 = nowMs();
    const dir = cgroupDir(layout.v2, `agent-runner-bench-${process.pid}-${k++}`);
    mkdirSync(dir);
    await ok('/bin/sh', ['-c', ENTER, 'enter', `${dir}/cgroup.procs`, '--', '/bin/true']);
    // The process leaves the cgroup asynchronously after it exits.
    for (;;) {
      try {
        rmdirSync(dir);
        break;
      } catch (err) {
        if (err.code !== 'EBUSY') throw err;
      }
    }
    return nowMs() - t0;
  };
} else result.skipped.direct_cgroup = directWhy;
if (!bwrapWhy) {
  wrappers.bwrap = () => ok('bwrap', [...BWRAP, '--', '/bin/true']);
  wrappers.bwrap_no_network = () => ok('bwrap', [...BWRAP, '--unshare-net', '--', '/bin/true']);
} else result.skipped.bwrap = bwrapWhy;

// Interleaved, so a load change hits every mode alike.
async function interleaved(fns, n) {
  const names = Object.keys(fns);
  const xs = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < WARMUP; i++) for (const k of names) await fns[k]();
  for (let i = 0; i < n; i++) for (const k of names) xs[k].push(await fns[k]());
  return Object.fromEntries(names.map((k) => [k, stats(xs[k])]));
}
Object.assign(result.wrapper, await interleaved(wrappers, RUNS * 3));

// ---------------------------------------------------------------------------------------------
// B. a whole round with a no-op agent

const git = (dir, ...a) => execFileSync('git', ['-C', dir, '-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { stdio: 'ignore' });
function project(base, extraToml) {
  const dir = mkdtempSync(join(base, 'ar-bench-'));
  writeFileSync(join(dir, 'prompt.md'), 'Benchmark prompt. '.repeat(40) + '\n');
  writeFileSync(join(dir, '.gitignore'), '.agent-runner/\n');
  const toml = ['[agent]', 'command = ["/bin/true"]', 'prompt_delivery = "stdin"', '[runtime]', 'log_dir = ".agent-runner/logs"', 'round_timeout_s = 60', 'kill_grace_s = 1', '[prompt]', 'file = "prompt.md"', extraToml].join('\n');
  writeFileSync(join(dir, 'agent-runner.toml'), toml + '\n');
  execFileSync('git', ['init', '-q', dir]);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'init');
  return { dir, config: join(dir, 'agent-runner.toml') };
}

const scratch = mkdtempSync(join(tmpdir(), 'ar-isobench-'));
const rounds = {};
const add = (name, extra) => {
  const p = project(scratch, extra);
  rounds[name] = () => ok(process.execPath, [CLI, 'round', '--config', p.config], { cwd: p.dir });
};
if (!WRAPPERS_ONLY) add('off', '[limits]\ncgroup = "off"\n');
if (!WRAPPERS_ONLY && !directWhy) {
  add('direct_cgroup', '');
  add('direct_cgroup_limits', '[limits]\nmemory_max = "512M"\ntasks_max = 256\ncpu_quota = "150%"\n');
}
if (!WRAPPERS_ONLY && !bwrapWhy) {
  add('bwrap', '[limits]\ncgroup = "off"\n[sandbox]\nmode = "bwrap"\n');
  add('bwrap_no_network', '[limits]\ncgroup = "off"\n[sandbox]\nmode = "bwrap"\nnetwork = false\n');
}
try {
  Object.assign(result.round, await interleaved(rounds, RUNS));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// The scope: rounds run by a transient service of a private systemd --user manager (the test
// harness, bundled for plain Node), so INVOCATION_ID is set and `round` chooses the scope.
const harness = join(OUT, 'systemd-user.mjs');
let manager;
try {
  mkdirSync(OUT, { recursive: true });
  execFileSync(join(ROOT, 'node_modules/.bin/rolldown'), [join(ROOT, 'test/helpers/systemd-user.ts'), '--file', harness, '--format', 'esm', '--platform', 'node', '--log-level', 'warn']);
  const { startUserManager, systemdUnavailableReason } = await import(pathToFileURL(harness).href);
  const why = systemdUnavailableReason();
  if (why) throw new Error(why);
  manager = await startUserManager();
  const m = manager;
  const base = mkdtempSync(join(tmpdir(), 'ar-isobench-scope-'));
  let k = 0;
  const viaService = (p) => () => {
    const w = m.wrap('systemd-run', ['--user', '--wait', '--pipe', '--quiet', '--collect', `--unit=ar-bench-${process.pid}-${k++}`, `--working-directory=${p.dir}`, process.execPath, CLI, 'round', '--config', p.config]);
    return ok(w.cmd, w.args, { env: m.env });
  };
  const scopeOnly = () => {
    const w = m.wrap('systemd-run', ['--user', '--scope', '--quiet', '--collect', `--unit=ar-bench-scope-${process.pid}-${k++}`, '/bin/true']);
    return ok(w.cmd, w.args, { env: m.env });
  };
  const nsOnly = () => {
    const w = m.wrap('/bin/true', []);
    return ok(w.cmd, w.args, { env: m.env });
  };
  try {
    Object.assign(result.wrapper, await interleaved({ nsenter_baseline: nsOnly, systemd_scope: scopeOnly }, RUNS * 3));
    if (!WRAPPERS_ONLY) {
      const services = { service_cgroup_off: viaService(project(base, '[limits]\ncgroup = "off"\n')), service_scope: viaService(project(base, '')) };
      Object.assign(result.round, await interleaved(services, RUNS));
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
} catch (err) {
  result.skipped.systemd_scope = String(err.message ?? err).split('\n')[0];
} finally {
  await manager?.stop();
  rmSync(harness, { force: true });
}

// ---------------------------------------------------------------------------------------------

const added = (tbl, base) => Object.fromEntries(Object.entries(tbl).filter(([k]) => k !== base).map(([k, v]) => [k, round1(v.median - (tbl[base]?.median ?? NaN))]));
result.added_ms = {
  wrapper: { ...added(Object.fromEntries(Object.entries(result.wrapper).filter(([k]) => !['nsenter_baseline', 'systemd_scope'].includes(k))), 'none'), ...(result.wrapper.systemd_scope ? { systemd_scope: round1(result.wrapper.systemd_scope.median - result.wrapper.nsenter_baseline.median) } : {}) },
  round: {
    ...added(Object.fromEntries(Object.entries(result.round).filter(([k]) => !k.startsWith('service_'))), 'off'),
    ...(result.round.service_scope ? { service_scope: round1(result.round.service_scope.median - result.round.service_cgroup_off.median) } : {}),
  },
};

const line = (name, s) => `${name.padEnd(28)} ${String(s.median).padStart(8)} ${String(s.p90).padStart(8)} ${String(s.min).padStart(8)} ${String(s.max).padStart(8)}`;
console.log(`isolation.bench — ${result.host.cpus} CPUs, load ${result.host.loadavg.join(' ')}, cgroup layout ${result.host.layout}, ${RUNS} rounds per mode`);
console.log(`${'wrapper (ms)'.padEnd(28)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}`);
for (const [k, s] of Object.entries(result.wrapper)) console.log(line(k, s));
console.log(`${'round (ms)'.padEnd(28)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)}`);
for (const [k, s] of Object.entries(result.round)) console.log(line(k, s));
console.log('added per round, median ms:', JSON.stringify(result.added_ms));
for (const [k, why] of Object.entries(result.skipped)) console.log(`skipped ${k}: ${why}`);
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'isolation.json'), JSON.stringify(result, null, 2) + '\n');
