#!/usr/bin/env node
// Remote monitoring at fleet size (not part of the test suite; `./build.sh bench` runs every
// bench/*.bench.mjs). A real sshd on 127.0.0.1 plays every host: N aliases of it, each one
// "host" with the same registered projects (the remote's own `agent-runner ls --json`).
//
//   A. One `monitor --host h01 … --host hN --json --interval 1` watching N hosts × P projects:
//      peak RSS of the monitor process (VmHWM; ssh clients counted apart), and the cycle seen from
//      outside: a harmful event in a project every host has → the alert line of the first and of
//      the last of the N hosts (the last bounds one cycle over the fleet, interval included).
//      Also `--once` over the whole fleet (connect, list, probe every project, close).
//      Targets: <= 150 MB, cycle <= 1 s.
//   B. Latency of a harmful event: a round that fails to authenticate writes its agent_exit →
//      the oauth_fail alert line on the monitor's stdout (stream transport, --interval 1, one
//      host, one project, window 1 so the next good round resolves it). Target: <= 2 s median.
//
//   node bench/remote-fleet.bench.mjs [--hosts 20] [--projects 3] [--runs 9] [--soak-s 10]
// Prints the figures and writes .bench-out/remote-fleet.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, opt, OUT, quantile, r1, requireDist, ROOT, stats } from './lib.mjs';

const FAKE_AGENT = join(ROOT, 'test/fixtures/bin/fake-agent.sh');
const HOSTS = Number(opt('--hosts', 20));
const PROJECTS = Number(opt('--projects', 3));
const RUNS = Number(opt('--runs', 9));
const SOAK_S = Number(opt('--soak-s', 10));
const AUTH = 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key"};;exit:1';

requireDist('remote-fleet.bench');
mkdirSync(OUT, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'ar-bench-fleet-'));
const remoteState = join(work, 'remote-state');
const localEnv = { ...process.env, NO_COLOR: '1', HOME: join(work, 'local'), XDG_STATE_HOME: join(work, 'local', 'state'), XDG_RUNTIME_DIR: join(work, 'run') };
mkdirSync(localEnv.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });

function cli(args, env = {}) {
  return execFileSync(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function writeProject(dir, mode, extra = '') {
  writeFileSync(join(dir, 'prompt.md'), 'Work on the task described here. '.repeat(20) + '\n');
  writeFileSync(join(dir, 'agent-runner.toml'), [
    '[agent]', `command = ["bash", "${FAKE_AGENT}"]`, 'prompt_arg_template = []', 'prompt_delivery = "stdin"',
    '[agent.env]', `FAKE_MODE = ${JSON.stringify(mode)}`,
    '[runtime]', 'work_dir = "."', 'log_dir = ".agent-runner/logs"', 'round_timeout_s = 30', 'restart_delay_s = 0',
    '[prompt]', 'file = "prompt.md"', extra, '',
  ].join('\n'));
  return join(dir, 'agent-runner.toml');
}

function makeProject(name, mode, extra) {
  const dir = join(work, 'projects', name);
  mkdirSync(dir, { recursive: true });
  execFileSync('git', ['init', '-q', dir]);
  const config = writeProject(dir, mode, extra);
  // A round records the project in the remote's registry.
  try {
    cli(['round', '--config', config], { XDG_STATE_HOME: remoteState });
  } catch {
    /* a failing round is still recorded */
  }
  return { dir, config, name };
}

async function startSshd() {
  const dir = join(work, 'sshd');
  mkdirSync(dir);
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (const f of ['host', 'id']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, f)]);
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
    'PrintMotd no', 'PrintLastLog no', 'MaxStartups 200', 'MaxSessions 200',
    `SetEnv "PATH=${dirname(process.execPath)}:/usr/bin:/bin" "HOME=${work}" "XDG_STATE_HOME=${remoteState}"`, '',
  ].join('\n'));
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(dir, 'host.pub'), 'utf8').trim()}\n`);
  const configFile = join(dir, 'ssh_config');
  const aliases = Array.from({ length: HOSTS }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
  writeFileSync(configFile, aliases.map((a) => [
    `Host ${a}`, '  HostName 127.0.0.1', `  Port ${port}`, `  User ${user}`, `  IdentityFile ${join(dir, 'id')}`, '  IdentitiesOnly yes', '  IdentityAgent none',
    `  UserKnownHostsFile ${join(dir, 'known_hosts')}`, '  GlobalKnownHostsFile /dev/null', '  StrictHostKeyChecking yes', '  LogLevel ERROR', '',
  ].join('\n')).join(''));
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'ignore'] });
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('sshd did not start');
    await sleep(20);
  }
  return { aliases, configFile, child };
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function procStatus(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(t)?.[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

function childrenOf(pid) {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  }).map(Number);
}

function startMonitor(args, monitorEnv) {
  const child = spawn(process.execPath, [CLI, 'monitor', ...args], { env: { ...localEnv, ...monitorEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let buf = '';
  const lines = [];
  child.stdout.setEncoding('utf8').on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push({ at: Date.now(), line: JSON.parse(buf.slice(0, nl)) });
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr.resume();
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  return { child, lines, exited };
}

const results = { node: process.version, hosts: HOSTS, projects: PROJECTS, load_at_start: r1(loadavg()[0]) };
const sshd = await startSshd();
const monitorEnv = { AGENT_RUNNER_SSH_CONFIG: sshd.configFile, AGENT_RUNNER_REMOTE_CMD: `${process.execPath} ${CLI}` };
try {
  const projects = Array.from({ length: PROJECTS }, (_, i) => makeProject(`p${i + 1}`, 'ok', i === 0 ? '[monitor]\nwindow = 1' : ''));
  const hostArgs = sshd.aliases.flatMap((a) => ['--host', a]);

  // A. --once over the whole fleet, then a running monitor.
  const onceMs = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const m = startMonitor([...hostArgs, '--once', '--json'], monitorEnv);
    const code = await m.exited;
    if (code !== 0) throw new Error(`monitor --once over the fleet exited ${code}`);
    onceMs.push(Date.now() - t0);
  }
  results.once_fleet_ms = stats(onceMs);

  const m = startMonitor([...hostArgs, '--json', '--interval', '1'], monitorEnv);
  const rss = [];
  let sshRssKb = 0;
  const sampler = setInterval(() => {
    const st = procStatus(m.child.pid);
    if (st) rss.push(st.rss);
    sshRssKb = Math.max(sshRssKb, childrenOf(m.child.pid).reduce((sum, pid) => {
      const kb = procStatus(pid)?.rss;
      return sum + (Number.isFinite(kb) ? kb : 0);
    }, 0));
  }, 500);
  // Settle: every target has polled once (the healthy fleet prints nothing until something fires).
  await sleep(SOAK_S * 1000);
  // The cycle, seen from outside: a harmful event in p1 (registered on every "host") → its alert
  // line from each of the N hosts. The last host's line bounds one cycle over the whole fleet.
  const first = [];
  const last = [];
  for (let i = 0; i < 5; i++) {
    writeProject(projects[0].dir, AUTH, '[monitor]\nwindow = 1');
    const before = m.lines.length;
    try {
      cli(['round', '--config', projects[0].config], { XDG_STATE_HOME: remoteState });
    } catch {
      /* the round fails: that is the point */
    }
    const evTs = lastEventTs(join(projects[0].dir, '.agent-runner', 'logs'), 'agent_exit');
    const fired = () => m.lines.slice(before).filter((l) => l.line.detector === 'oauth_fail' && l.line.state === 'firing');
    await waitUntil(() => fired().length >= HOSTS, 120_000);
    first.push(fired()[0].at - evTs);
    last.push(fired()[HOSTS - 1].at - evTs);
    writeProject(projects[0].dir, 'ok', '[monitor]\nwindow = 1');
    const mark = m.lines.length;
    cli(['round', '--config', projects[0].config], { XDG_STATE_HOME: remoteState });
    await waitUntil(() => m.lines.slice(mark).filter((l) => l.line.detector === 'oauth_fail' && l.line.state === 'resolved').length >= HOSTS, 120_000);
  }
  clearInterval(sampler);
  const hwm = procStatus(m.child.pid)?.hwm ?? NaN;
  m.child.kill('SIGINT');
  const code = await m.exited;
  results.soak = {
    targets: HOSTS * PROJECTS,
    monitor_rss_mb: { median: r1(quantile(rss, 0.5) / 1024), peak_hwm: r1(hwm / 1024) },
    ssh_clients_rss_mb_max: r1(sshRssKb / 1024),
    event_to_first_host_alert_ms: stats(first),
    event_to_last_host_alert_ms: stats(last),
    exit_on_sigint: code,
    load_during: r1(loadavg()[0]),
  };

  // B. harmful event → alert line.
  const p = makeProject('latency', 'ok', '[monitor]\nwindow = 1');
  const lat = startMonitor(['--host', sshd.aliases[0], '--project', 'latency', '--json', '--interval', '1'], monitorEnv);
  // Let it connect and poll once.
  await sleep(3000);
  const latencies = [];
  for (let i = 0; i < RUNS; i++) {
    writeProject(p.dir, AUTH, '[monitor]\nwindow = 1');
    const before = lat.lines.length;
    try {
      cli(['round', '--config', p.config], { XDG_STATE_HOME: remoteState });
    } catch {
      /* the round fails: that is the point */
    }
    const evTs = lastEventTs(join(p.dir, '.agent-runner', 'logs'), 'agent_exit');
    await waitUntil(() => lat.lines.slice(before).some((l) => l.line.detector === 'oauth_fail' && l.line.state === 'firing'), 20_000);
    const seen = lat.lines.slice(before).find((l) => l.line.detector === 'oauth_fail' && l.line.state === 'firing');
    latencies.push(seen.at - evTs);
    writeProject(p.dir, 'ok', '[monitor]\nwindow = 1');
    const mark = lat.lines.length;
    cli(['round', '--config', p.config], { XDG_STATE_HOME: remoteState });
    await waitUntil(() => lat.lines.slice(mark).some((l) => l.line.detector === 'oauth_fail' && l.line.state === 'resolved'), 20_000);
    // Start the next run at a random point of the poll interval.
    await sleep(Math.round(Math.random() * 1000));
  }
  lat.child.kill('SIGINT');
  await lat.exited;
  results.harmful_event_to_alert_ms = { ...stats(latencies), interval_s: 1, transport: 'stream', load_during: r1(loadavg()[0]) };
} finally {
  sshd.child.kill('SIGTERM');
  await new Promise((r) => (sshd.child.exitCode !== null ? r() : sshd.child.once('exit', r)));
  rmSync(work, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

writeFileSync(join(OUT, 'remote-fleet.json'), JSON.stringify(results, null, 2) + '\n');
process.stdout.write(JSON.stringify(results, null, 2) + '\nwritten: .bench-out/remote-fleet.json\n');

function lastEventTs(logDir, kind) {
  const files = readdirSync(logDir).filter((f) => f.startsWith('events') && f.endsWith('.jsonl')).sort();
  const lines = readFileSync(join(logDir, files.at(-1)), 'utf8').trim().split('\n').reverse();
  for (const l of lines) {
    const e = JSON.parse(l);
    if (e.event === kind) return Date.parse(e.ts);
  }
  throw new Error(`no ${kind} event in ${logDir}`);
}

async function waitUntil(ok, ms) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}
