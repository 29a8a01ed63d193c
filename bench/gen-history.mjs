#!/usr/bin/env node
// A synthetic project history in the upstream file layout, for the peek/monitor benchmarks:
//   <dir>/agent-runner.toml, prompt.md
//   <dir>/logs/events-YYYY-MM.jsonl    4 lines per round (round_start, agent_spawn, agent_exit,
//                                      round_end), spread over 12 monthly files, upstream's
//                                      separators; 1 round in 10 fails, 1 in 50 times out
//   <dir>/logs/metrics-YYYY-MM.jsonl   2 lines per round (round_start, round_end)
//   <dir>/logs/rounds/R<N>-<ts>.log    the last 100 rounds' agent logs (~8 KB each)
//   <dir>/logs/status.json
// agent_exit lines carry no `transient` field (upstream never wrote one), so failed rounds make
// the monitor fall back to reading log tails, as it would on a history upstream left behind.
//
//   node bench/gen-history.mjs <dir> <rounds>
// Reuses <dir> when it already holds a history of that size.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function generateHistory(dir, rounds) {
  const marker = join(dir, '.generated');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === String(rounds)) return dir;
  rmSync(dir, { recursive: true, force: true });
  const logDir = join(dir, 'logs');
  mkdirSync(join(logDir, 'rounds'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'prompt.md'), 'Work on the task described here. '.repeat(20));
  writeFileSync(
    join(dir, 'agent-runner.toml'),
    ['[agent]', 'command = ["true"]', 'prompt_arg_template = []', 'prompt_delivery = "stdin"', '[runtime]', 'log_dir = "logs"', 'round_timeout_s = 1800', '[prompt]', 'file = "prompt.md"', ''].join('\n'),
  );
  // Twelve monthly files (eleven whole months before this one, and this one so far), rounds evenly spread.
  const end = Date.now() - 700_000; // the last round ended about a minute ago
  const e = new Date(end);
  const start = Date.UTC(e.getUTCFullYear(), e.getUTCMonth() - 11, 1, 1);
  const step = (end - start) / rounds;
  const files = new Map();
  const out = (kind, month, text) => {
    const key = `${kind}-${month}`;
    let f = files.get(key);
    if (!f) {
      f = { fd: openSync(join(logDir, `${kind}-${month}.jsonl`), 'w', 0o600), buf: [] };
      files.set(key, f);
    }
    f.buf.push(text);
    if (f.buf.length >= 4096) flush(f);
  };
  const flush = (f) => {
    if (f.buf.length) writeSync(f.fd, f.buf.join(''));
    f.buf = [];
  };
  const host = (ev, t, n) =>
    `{"ts": "${iso(t)}", "event": "${ev}", "mem_total_mb": 24105, "mem_available_mb": 23019, "mem_used_pct": 4.5, "disk_total_gb": 252.0, "disk_free_gb": 78.5, "disk_used_pct": 22.7, "load_1m": 1.34, "load_5m": 0.83, "load_15m": 0.34, "cpu_pct": 100.0, "agent_process_count": 0, "round_num": ${n}, "phase": "a"}\n`;
  for (let n = 1; n <= rounds; n++) {
    const t = start + n * step;
    const month = iso(t).slice(0, 7);
    const fail = n % 10 === 0;
    const timeout = n % 50 === 25;
    const dur = timeout ? 1800.4 : fail ? 2.1 : 600.5;
    const code = timeout ? -15 : fail ? 1 : 0;
    out('events', month, `{"ts": "${iso(t)}", "event": "round_start", "round_num": ${n}, "phase": "a"}\n`);
    out('events', month, `{"ts": "${iso(t + 8)}", "event": "agent_spawn", "round_num": ${n}, "timeout_s": 1800}\n`);
    out('events', month, `{"ts": "${iso(t + dur * 1000)}", "event": "agent_exit", "round_num": ${n}, "exit_code": ${code}, "duration_s": ${dur}, "timed_out": ${timeout}, "exit_cause": "${timeout ? 'timeout' : fail ? 'error' : 'clean'}"}\n`);
    out('events', month, `{"ts": "${iso(t + dur * 1000 + 40)}", "event": "round_end", "round_num": ${n}}\n`);
    out('metrics', month, host('round_start', t, n));
    out('metrics', month, host('round_end', t + dur * 1000, n));
    if (n > rounds - 100) {
      const name = `R${n}-${iso(t).replace(/[-:]/g, '').slice(0, 15)}.log`;
      const body = `{"type":"system","model":"m"}\n` + `{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash","input":{"command":"make test"}}]}}\n`.repeat(60) + (fail ? 'Error: connect ECONNREFUSED 10.0.0.1:443\n' : '{"type":"result","subtype":"success","is_error":false,"result":"done"}\n');
      writeFileSync(join(logDir, 'rounds', name), body, { mode: 0o600 });
    }
  }
  for (const f of files.values()) {
    flush(f);
    closeSync(f.fd);
  }
  writeFileSync(
    join(logDir, 'status.json'),
    JSON.stringify({ round_num: rounds, running: false, last_completed_at: iso(end), last_exit_code: 0, last_duration_s: 600.5, current_phase: 'a', phase_index: 0 }, null, 2),
  );
  writeFileSync(marker, String(rounds));
  return dir;
}

function iso(ms) {
  return new Date(ms).toISOString();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, rounds] = process.argv.slice(2);
  if (!dir || !Number(rounds)) {
    process.stderr.write('usage: node bench/gen-history.mjs <dir> <rounds>\n');
    process.exit(2);
  }
  const t0 = Date.now();
  generateHistory(dir, Number(rounds));
  process.stdout.write(`${dir}: ${rounds} rounds in ${Date.now() - t0} ms\n`);
}
