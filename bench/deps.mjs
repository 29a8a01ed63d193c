#!/usr/bin/env node
// The packages of the original design against what agent-runner does instead (docs/dependencies.md).
// Not part of `./build.sh bench`: it needs those packages, which agent-runner does not depend on.
//   mkdir /tmp/deps && cd /tmp/deps && npm init -y >/dev/null && npm pkg set type=module &&
//   npm install --ignore-scripts execa@9.6.1 pidusage@4.1.0 @iarna/toml@3.0.0 systeminformation@5.33.23 \
//     ssh2@1.17.0 chalk@5.6.2 commander@14.0.3 smol-toml@1.9.1 valibot@1.5.0
//   node <repo>/bench/deps.mjs /tmp/deps        (after ./build.sh build)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const at = resolve(process.argv[2] ?? '.');
const REPO = resolve(import.meta.dirname, '..');
const N = Number(process.env['N'] ?? 15);
const MODS = ['node:util', 'execa', 'pidusage', '@iarna/toml', 'smol-toml', 'systeminformation', 'commander', 'ssh2', 'chalk', 'valibot'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r3 = (x) => Math.round(x * 1000) / 1000;

// ---- footprint: the package and everything it pulls in, from the scratch lockfile ----
const lock = JSON.parse(readFileSync(join(at, 'package-lock.json'), 'utf8')).packages;
function closure(name) {
  const seen = new Set();
  const stack = [name];
  while (stack.length) {
    const n = stack.pop();
    const e = lock[`node_modules/${n}`];
    if (seen.has(n) || !e) continue;
    seen.add(n);
    stack.push(...Object.keys(e.dependencies ?? {}));
  }
  return [...seen];
}
const kb = (names) => names.reduce((s, n) => s + Number(execFileSync('du', ['-sk', join(at, 'node_modules', n)]).toString().split('\t')[0]), 0);

// ---- cold import, each in a fresh node, interleaved so load changes hit every package alike ----
const times = Object.fromEntries(MODS.map((m) => [m, []]));
for (let i = 0; i < N; i++)
  for (const m of MODS) {
    const code = `const t = performance.now(); await import(${JSON.stringify(m)}); console.log(performance.now() - t)`;
    times[m].push(Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: at }).toString()));
  }
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${N} cold imports each`);
for (const m of MODS) {
  const deps = m.startsWith('node:') ? [] : closure(m);
  console.log(`${m.padEnd(18)} import median ${median(times[m]).toFixed(1).padStart(7)} ms  min ${Math.min(...times[m]).toFixed(1).padStart(6)} ms  ${String(deps.length).padStart(2)} packages ${String(kb(deps)).padStart(5)} KB`);
}

// ---- in-process: the design's calls against ours ----
const req = createRequire(join(at, 'package.json'));
const load = async (m) => import(req.resolve(m));
const pidusage = (await load('pidusage')).default;
const si = (await load('systeminformation')).default;
const iarna = (await load('@iarna/toml')).default;
const { parse: smol } = await load('smol-toml');
const { readStat } = await import(join(REPO, 'dist/proc/procfs.js'));
const { sampleMemory, sampleDisk } = await import(join(REPO, 'dist/metrics/host.js'));
const per = async (fn, n) => {
  const t = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  return r3(median(t));
};
await pidusage(process.pid);
await si.mem();
await si.fsSize();
const toml = readFileSync(join(REPO, 'templates/presets/claude.toml'), 'utf8');
console.log(JSON.stringify({
  pidusage_one_pid_ms: await per(() => pidusage(process.pid), 50),
  procfs_readStat_one_pid_ms: await per(() => readStat(process.pid), 50),
  si_mem_and_fsSize_ms: await per(async () => { await si.mem(); await si.fsSize(); }, 20),
  host_sampleMemory_and_sampleDisk_ms: await per(() => { sampleMemory(); sampleDisk(REPO); }, 20),
  iarna_parse_preset_ms: await per(() => iarna.parse(toml), 200),
  smol_parse_preset_ms: await per(() => smol(toml), 200),
}, null, 1));
