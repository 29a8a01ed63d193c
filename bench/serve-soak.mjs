// Memory soak (not part of the test suite, nor of `./build.sh bench`: it runs for minutes):
// `./build.sh memsoak` (SOAK_ROUNDS, default 4000). serve runs SOAK_ROUNDS rounds of a 75 ms agent
// that prints stream-json with tool calls and a cost; serve's RSS is sampled from /proc during the
// rounds. Prints the curve (median RSS per block of rounds) and the growth after warm-up.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/bin/main.js');
const ROUNDS = Number(process.env.SOAK_ROUNDS ?? 4000);
const BLOCK = Number(process.env.SOAK_BLOCK ?? Math.max(50, Math.round(ROUNDS / 16)));
const WARMUP = Number(process.env.SOAK_WARMUP ?? Math.min(500, Math.round(ROUNDS / 8)));

const dir = mkdtempSync(join(tmpdir(), 'ar-soak-'));
execFileSync('git', ['init', '-q', dir]);
writeFileSync(join(dir, '.gitignore'), '.agent-runner/\n');
writeFileSync(join(dir, 'prompt.md'), 'Soak prompt. '.repeat(40));
const tool = (i) => `{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t${i}","name":"Bash","input":{"command":"ls -la src/module-${i}"}}]}}`;
writeFileSync(
  join(dir, 'agent.sh'),
  `#!/usr/bin/env bash
cat >/dev/null
echo '{"type":"system","subtype":"init","model":"soak"}'
${[1, 2, 3, 4, 5].map((i) => `echo '${tool(i)}'`).join('\n')}
sleep 0.075
echo '{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.0012,"usage":{"input_tokens":1200,"output_tokens":300}}'
`,
);
writeFileSync(
  join(dir, 'agent-runner.toml'),
  `[agent]\ncommand = ["bash", "agent.sh"]\nprompt_delivery = "stdin"\n[runtime]\nlog_dir = ".agent-runner/logs"\nrestart_delay_s = 0\nround_timeout_s = 60\n[prompt]\nfile = "prompt.md"\n`,
);
execFileSync('git', ['-C', dir, 'add', '-A']);
execFileSync('git', ['-C', dir, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-qm', 'init']);

const started = Date.now();
// As installed (`npm install -g` links the bundle, so its shebang's node flags apply), unless
// SOAK_NODE_ARGS asks for `node ARGS… CLI` to compare flags.
const serveArgs = ['serve', '--max-rounds', String(ROUNDS), '--config', join(dir, 'agent-runner.toml')];
const NODE_ARGS = process.env.SOAK_NODE_ARGS?.split(' ').filter(Boolean);
const child = NODE_ARGS ? spawn(process.execPath, [...NODE_ARGS, CLI, ...serveArgs], { cwd: dir, stdio: 'ignore' }) : spawn(CLI, serveArgs, { cwd: dir, stdio: 'ignore' });
const exited = new Promise((r) => child.once('exit', (code) => r(code)));
let done = false;
void exited.then(() => (done = true));

const roundNow = () => {
  try {
    return JSON.parse(readFileSync(join(dir, '.agent-runner/logs/status.json'), 'utf8')).round_num ?? 0;
  } catch {
    return undefined;
  }
};
const rssMb = () => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
};
/** block index → RSS samples (MB) */
const blocks = new Map();
let peak = 0;
while (!done) {
  await new Promise((r) => setTimeout(r, 250));
  const n = roundNow();
  const rss = rssMb();
  if (n === undefined || rss === undefined) continue;
  peak = Math.max(peak, rss);
  const b = Math.floor(n / BLOCK);
  if (!blocks.has(b)) blocks.set(b, []);
  blocks.get(b).push(rss);
}
const code = await exited;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const curve = [...blocks.entries()].sort((a, b) => a[0] - b[0]).map(([b, xs]) => ({ rounds: `${b * BLOCK}-${(b + 1) * BLOCK - 1}`, from: b * BLOCK, rss_mb: Math.round(median(xs) * 10) / 10, samples: xs.length }));
const after = curve.filter((c) => c.from >= WARMUP);
const first = after[0]?.rss_mb ?? NaN;
const last = after.at(-1)?.rss_mb ?? NaN;
console.log(`serve memory soak: ${ROUNDS} rounds of a 75 ms agent in ${Math.round((Date.now() - started) / 1000)} s, exit ${code}`);
console.log('| rounds | median RSS (MB) | samples |\n|---|---|---|');
for (const c of curve) console.log(`| ${c.rounds} | ${c.rss_mb} | ${c.samples} |`);
console.log(`after warm-up (round ${WARMUP}): ${first} MB → ${last} MB (${(last - first >= 0 ? '+' : '')}${(last - first).toFixed(1)} MB); peak ${peak.toFixed(1)} MB  [target: no growth, ≤ 80 MB]`);
mkdirSync(join(ROOT, '.bench-out'), { recursive: true });
writeFileSync(join(ROOT, '.bench-out/serve-soak.json'), JSON.stringify({ rounds: ROUNDS, curve, peak_mb: peak, warmup: WARMUP }, null, 2));
rmSync(dir, { recursive: true, force: true });
