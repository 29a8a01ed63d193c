// Serve benchmarks (not part of the test suite): `./build.sh bench`.
//  1. the gap from one agent's exit to the next agent's spawn with restart_delay_s = 0, taken from
//     the agents' own clocks (first and last thing each agent does), median and p90 over N rounds;
//  2. serve's RSS while it idles in a long wait (VmRSS of the serve process, median of samples).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/bin/main.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);

function project(agentBody, runtime) {
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-'));
  execFileSync('git', ['init', '-q', dir]);
  writeFileSync(join(dir, '.gitignore'), '.agent-runner/\nout/\n');
  writeFileSync(join(dir, 'prompt.md'), 'Benchmark prompt. '.repeat(40));
  writeFileSync(join(dir, 'agent.sh'), `#!/usr/bin/env bash\n${agentBody}\n`);
  mkdirSync(join(dir, 'out'));
  writeFileSync(
    join(dir, 'agent-runner.toml'),
    `[agent]\ncommand = ["bash", "agent.sh"]\nprompt_delivery = "stdin"\n[runtime]\nlog_dir = ".agent-runner/logs"\n${runtime}\n[prompt]\nfile = "prompt.md"\n`,
  );
  execFileSync('git', ['-C', dir, 'add', '-A']);
  execFileSync('git', ['-C', dir, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'init']);
  return dir;
}

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const median = (xs) => pct(xs, 0.5);

// 1. exit → next spawn
{
  const dir = project('echo "start $(date +%s%N)" >> out/times; cat >/dev/null; echo "end $(date +%s%N)" >> out/times', 'restart_delay_s = 0');
  execFileSync(process.execPath, [CLI, 'serve', '--max-rounds', String(ROUNDS), '--config', join(dir, 'agent-runner.toml')], { cwd: dir, stdio: 'ignore' });
  const lines = readFileSync(join(dir, 'out/times'), 'utf8').trim().split('\n').map((l) => l.split(' '));
  const gaps = [];
  for (let i = 1; i < lines.length; i++) if (lines[i - 1][0] === 'end' && lines[i][0] === 'start') gaps.push((Number(lines[i][1]) - Number(lines[i - 1][1])) / 1e6);
  console.log(`agent exit → next agent spawn (restart_delay_s = 0, ${gaps.length} gaps): median ${median(gaps).toFixed(1)} ms, p90 ${pct(gaps, 0.9).toFixed(1)} ms  [target ≤ 20 ms]`);
  rmSync(dir, { recursive: true, force: true });
  globalThis.gap = { median_ms: median(gaps), p90_ms: pct(gaps, 0.9), n: gaps.length };
}

// 2. idle RSS in a long wait
{
  const dir = project('echo \'{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":4102444800}}\'; exit 1', 'restart_delay_s = 0\nusage_limit_max_wait_s = 86400');
  const child = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'agent-runner.toml')], { cwd: dir, stdio: 'ignore' });
  const samples = [];
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && samples.length < 10) {
    await new Promise((r) => setTimeout(r, 300));
    let state;
    try {
      state = JSON.parse(readFileSync(join(dir, '.agent-runner/logs/serve-state.json'), 'utf8')).state;
    } catch {
      continue;
    }
    if (state !== 'waiting') continue;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) samples.push(Number(m[1]) / 1024);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  console.log(`serve idle RSS while waiting (${samples.length} samples): median ${median(samples).toFixed(1)} MB  [target ≤ 60 MB]`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(ROOT, '.bench-out'), { recursive: true });
  writeFileSync(join(ROOT, '.bench-out/serve.json'), JSON.stringify({ exit_to_spawn: globalThis.gap, idle_rss_mb: median(samples) }, null, 2));
}
