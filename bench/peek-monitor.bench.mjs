#!/usr/bin/env node
// Witness benchmarks (not part of the test suite; `./build.sh bench` runs every bench/*.bench.mjs).
//
// Over synthetic histories in the upstream layout (bench/gen-history.mjs: 4 event lines and 2
// metrics lines per round over 12 monthly files, the last 100 round logs) of 1k, 10k, 100k and
// 250k rounds:
//   A. `agent-runner peek --json`: wall time from spawn to exit (Node start-up included) and peak
//      RSS. Target at 250k rounds: <= 150 ms and <= 80 MB.
//   B. One monitor poll inside a running monitor: advance the digest over what was appended since
//      the last poll (one round's four lines), sample the host, run the detectors, step the alerts,
//      persist the state. Target: <= 50 ms at every size. Also the first poll of a monitor with no
//      state (derived from the end of the history) and `monitor --once` as a command.
//   C. A remote poll over the persistent connection (a real sshd on 127.0.0.1, the 10k history as
//      the remote project): connect + first poll, then polls over the open connection (target
//      <= 100 ms), with the long-lived `probe --stdio` stream and with one `probe --json` per poll.
//
//   node bench/peek-monitor.bench.mjs [--runs N] [--sizes 1000,10000] [--no-remote]
// Prints a table and writes .bench-out/peek-monitor.json.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateHistory } from './gen-history.mjs';
import { CLI, flag, loadAverage, nowMs, opt, OUT, r1, requireDist, ROOT, stats } from './lib.mjs';

const RUNS = Number(opt('--runs', 15));
const SIZES = String(opt('--sizes', '1000,10000,100000,250000')).split(',').map(Number);
const REMOTE = !flag('--no-remote');
const WARMUP = 3;

requireDist('peek-monitor.bench');
const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);


// The child reports its own peak RSS on exit: no sampling race, Node start-up included.
const RSS_HOOK = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nMAXRSS_KB '+process.resourceUsage().maxRSS+'\\n'))`;

function run(args, { cwd, rss = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(process.execPath, [...(rss ? ['--import', RSS_HOOK] : []), CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ ms: nowMs() - t0, code, stdout, stderr, rssKb: Number(/MAXRSS_KB (\d+)/.exec(stderr)?.[1] ?? NaN) }));
  });
}

async function series(n, fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  return stats(xs);
}

const results = { node: process.version, load_at_start: loadAverage()[0], runs: RUNS, sizes: {}, remote: null };
mkdirSync(OUT, { recursive: true });
process.stdout.write(`peek/monitor bench: node ${process.version}, load ${loadAverage().join(' ')}, ${RUNS} runs per figure after ${WARMUP} warm-ups\n`);

// ---------------------------------------------------------------------------------------------
// A and B, per history size

const { LocalSource } = await dist('monitor/sources.js');
const { stepAlerts } = await dist('monitor/alerts.js');
const { writeMonitorState } = await dist('monitor/state-file.js');
const { formatCursor } = await dist('events/reader.js');
const { loadConfig } = await dist('config/load.js');

for (const size of SIZES) {
  const dir = generateHistory(join(OUT, `history-${size}`), size);
  const cfgPath = join(dir, 'agent-runner.toml');
  const logDir = join(dir, 'logs');
  const stateFile = join(OUT, `monitor-state-${size}.json`);
  const row = {};

  row.peek_ms = await series(RUNS, async () => {
    const r = await run(['peek', '--json', '--config', cfgPath], { cwd: dir });
    if (r.code !== 0) throw new Error(`peek failed: ${r.stderr}`);
    return r.ms;
  });
  row.peek_rss_mb = await series(Math.max(5, Math.round(RUNS / 3)), async () => (await run(['peek', '--json', '--config', cfgPath], { cwd: dir, rss: true })).rssKb / 1024);

  // B. A monitor with no state derives its digest from the end of the history...
  const newest = join(logDir, readdirSync(logDir).filter((n) => n.startsWith('events-')).sort().at(-1));
  const originalSize = statSync(newest).size;
  const cfg = loadConfig(cfgPath);
  row.first_poll_ms = await series(RUNS, async () => {
    const s = new LocalSource(cfg, undefined, () => {});
    const t0 = nowMs();
    await s.poll();
    return nowMs() - t0;
  });
  // ...then each poll reads what was appended since the last: here one round's four lines.
  const source = new LocalSource(cfg, undefined, () => {});
  await source.poll();
  let alerts = {};
  let n = size;
  const appendRound = () => {
    n++;
    const t = Date.now() - 5000;
    const iso = (ms) => new Date(ms).toISOString();
    appendFileSync(newest,
      `{"ts": "${iso(t)}", "event": "round_start", "round_num": ${n}, "phase": "a"}\n` +
      `{"ts": "${iso(t + 8)}", "event": "agent_spawn", "round_num": ${n}, "timeout_s": 1800}\n` +
      `{"ts": "${iso(t + 4000)}", "event": "agent_exit", "round_num": ${n}, "exit_code": 0, "duration_s": 4.0, "timed_out": false, "exit_cause": "clean"}\n` +
      `{"ts": "${iso(t + 4040)}", "event": "round_end", "round_num": ${n}}\n`);
  };
  try {
    row.poll_ms = await series(RUNS, async () => {
      appendRound();
      const t0 = nowMs();
      const result = await source.poll();
      const step = stepAlerts(alerts, result.conditions, new Date().toISOString(), null);
      alerts = step.next;
      writeMonitorState(stateFile, { v: 1, target: { log_dir: logDir }, alerts, history: { cursor: formatCursor(source.history.cursor), log: source.history.log }, polls: 1, updated_at: new Date().toISOString() });
      return nowMs() - t0;
    });
    row.poll_lines_read = (await source.poll()).lines_read;
    // The command, Node start-up included, resuming from the persisted state.
    row.monitor_once_cli_ms = await series(Math.max(5, Math.round(RUNS / 3)), async () => {
      appendRound();
      const r = await run(['monitor', '--once', '--json', '--no-auto-stop', '--config', cfgPath, '--state-file', stateFile], { cwd: dir });
      if (r.code === null || r.code > 3) throw new Error(`monitor failed: ${r.stderr}`);
      return r.ms;
    });
  } finally {
    truncateSync(newest, originalSize);
    rmSync(stateFile, { force: true });
  }
  results.sizes[size] = row;
  process.stdout.write(`  ${String(size).padStart(6)} rounds: peek --json ${row.peek_ms.median} ms (p90 ${row.peek_ms.p90}), ${r1(row.peek_rss_mb.median)} MB RSS; poll ${row.poll_ms.median} ms (p90 ${row.poll_ms.p90}); first poll ${row.first_poll_ms.median} ms; monitor --once ${row.monitor_once_cli_ms.median} ms\n`);
}

// ---------------------------------------------------------------------------------------------
// C. remote poll over a real sshd

if (REMOTE && existsSync('/usr/sbin/sshd') && SIZES.length) {
  const size = SIZES.includes(10000) ? 10000 : SIZES[0];
  const dir = generateHistory(join(OUT, `history-${size}`), size);
  const sshd = await startSshd();
  try {
    const { SshSession } = await dist('ssh/session.js');
    const { RemoteSource } = await dist('monitor/sources.js');
    const remote = { remoteCmd: [process.execPath, CLI], remoteConfig: join(dir, 'agent-runner.toml'), cursor: undefined };
    const out = { history_rounds: size };
    for (const mode of ['stream', 'exec']) {
      const connect = [];
      const polls = [];
      for (let s = 0; s < 3; s++) {
        const session = new SshSession({ host: sshd.alias, configFile: sshd.configFile, controlDir: sshd.controlDir });
        const src = new RemoteSource({ session, ...remote, mode });
        let t0 = nowMs();
        await src.poll();
        connect.push(nowMs() - t0);
        for (let i = 0; i < RUNS; i++) {
          t0 = nowMs();
          await src.poll();
          if (i >= 2) polls.push(nowMs() - t0);
        }
        await src.close();
      }
      out[mode] = { connect_and_first_poll_ms: stats(connect), poll_ms: stats(polls) };
      process.stdout.write(`  remote (${mode}, ${size}-round history): connect + first poll ${out[mode].connect_and_first_poll_ms.median} ms; poll over the open connection ${out[mode].poll_ms.median} ms (p90 ${out[mode].poll_ms.p90})\n`);
    }
    results.remote = out;
  } finally {
    await sshd.stop();
  }
}

writeFileSync(join(OUT, 'peek-monitor.json'), JSON.stringify(results, null, 2) + '\n');
process.stdout.write(`written: .bench-out/peek-monitor.json\n`);

// ---------------------------------------------------------------------------------------------
// A throwaway sshd on 127.0.0.1 (the test suite has a fuller harness in test/helpers/sshd.ts).

async function startSshd() {
  const dir = mkdtempSync(join(tmpdir(), 'ar-bench-sshd-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const key = (f) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', f]);
  key(join(dir, 'host'));
  key(join(dir, 'id'));
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const user = userInfo().username;
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id.pub')));
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, `PidFile ${join(dir, 'pid')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no', `AllowUsers ${user}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'UseDNS no',
    'PrintMotd no', 'PrintLastLog no', 'MaxStartups 200', 'MaxSessions 200', `SetEnv "PATH=${dirname(process.execPath)}:/usr/bin:/bin" "HOME=${home}"`, '',
  ].join('\n'));
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host.pub'), 'utf8').trim()}\n`);
  const configFile = join(dir, 'ssh_config');
  writeFileSync(configFile, [
    'Host bench-pi', '  HostName 127.0.0.1', `  Port ${port}`, `  User ${user}`, `  IdentityFile ${join(dir, 'id')}`, '  IdentitiesOnly yes', '  IdentityAgent none',
    `  UserKnownHostsFile ${join(dir, 'known_hosts')}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  LogLevel ERROR', '',
  ].join('\n'));
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('sshd did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  const controlDir = join(dir, 'cm');
  mkdirSync(controlDir, { mode: 0o700 });
  return {
    alias: 'bench-pi',
    configFile,
    controlDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
