#!/usr/bin/env node
// Notification latency (not part of the test suite; `./build.sh bench` runs every bench/*.bench.mjs).
//
// A serve halts (a stop file is present: the halt comes before any round) with one webhook
// channel pointing at a real HTTP receiver on loopback. Measured: the halt event's timestamp
// (halt_recorded, as written to the events file) → the receiver has the notification.
// Target: <= 2 s median. Each run clears the halt with `resume` first.
//
//   node bench/notify.bench.mjs [--runs N]
// Prints the figures and writes .bench-out/notify.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/bin/main.js');
const argv = process.argv.slice(2);
const RUNS = Number(argv.includes('--runs') ? argv[argv.indexOf('--runs') + 1] : 11);

const received = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({ at: Date.now(), body: JSON.parse(body) });
    res.writeHead(200).end('ok');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

const dir = mkdtempSync(join(tmpdir(), 'ar-notify-bench-'));
execFileSync('git', ['init', '-q', dir]);
writeFileSync(join(dir, 'prompt.md'), 'Work on the task described here. '.repeat(20));
mkdirSync(join(dir, 'out'));
writeFileSync(join(dir, 'out', 'STOP'), 'pause');
writeFileSync(
  join(dir, 'agent-runner.toml'),
  `[agent]\ncommand = ["true"]\nprompt_delivery = "stdin"\n[runtime]\nlog_dir = "logs"\nstop_file = "out/STOP"\n[prompt]\nfile = "prompt.md"\n` +
    `[[notify]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:${port}/hook"\n`,
);
// Asynchronous: the receiver in this process must answer while serve delivers.
const cli = (...args) => new Promise((resolve) => spawn(process.execPath, [CLI, ...args, '--config', join(dir, 'agent-runner.toml')], { stdio: 'ignore' }).on('exit', resolve));
const haltTs = () => {
  const logDir = join(dir, 'logs');
  const lines = readdirSync(logDir).filter((f) => f.startsWith('events-')).flatMap((f) => readFileSync(join(logDir, f), 'utf8').split('\n').filter(Boolean));
  return lines.map((l) => JSON.parse(l)).filter((e) => e.event === 'halt_recorded').map((e) => Date.parse(e.ts));
};

const latencies = [];
for (let i = 0; i < RUNS; i++) {
  await cli('resume');
  await cli('serve');
  const ts = haltTs().at(-1);
  const got = received.at(-1);
  if (!got || received.length !== i + 1) throw new Error(`run ${i}: the notification did not arrive`);
  latencies.push(got.at - ts);
}
server.close();
rmSync(dir, { recursive: true, force: true });
const sorted = [...latencies].sort((a, b) => a - b);
const q = (p) => sorted[Math.round((sorted.length - 1) * p)];
const result = { runs: RUNS, median_ms: q(0.5), p90_ms: q(0.9), max_ms: sorted.at(-1), target_ms: 2000 };
mkdirSync(join(ROOT, '.bench-out'), { recursive: true });
writeFileSync(join(ROOT, '.bench-out', 'notify.json'), JSON.stringify(result, null, 2) + '\n');
process.stdout.write(`halt event written → webhook received: ${result.median_ms} ms median, ${result.p90_ms} ms p90, ${result.max_ms} ms max over ${RUNS} runs (target ≤ 2000 ms median)\n`);

