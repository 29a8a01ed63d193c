#!/usr/bin/env node
// Remote monitoring at fleet size (not part of the test suite; `./build.sh bench` runs every
// bench/*.bench.mjs). A real sshd on 127.0.0.1 plays every host: N aliases of it, each one
// "host" with the same registered projects (the remote's own registry, listed by its probe).
//
//   A. `monitor --host h01 … --host hN --once --json`: connect, list, probe every project, close.
//   B. One running `monitor --host h01 … --host hN --json` over N hosts × P projects, three ways:
//      push with `--interval 1`, push alone (`--interval 3600`), poll alone (`--interval 1`, the
//      remotes told not to push: AGENT_RUNNER_PROBE_PUSH=0). Each: peak RSS of the monitor (ssh
//      clients counted apart); CPU per second of steady watching, the monitor's and the remote
//      probes' (at --interval 1 every second is a cycle of N × P polls); then a harmful event in
//      every project at once (P failing rounds in parallel) → each target's alert line: the
//      latency of every target, of p1's first and last host, and the cycle from the first event to
//      the last of the N × P lines. Targets: <= 150 MB, cycle <= 1 s.
//   C. A harmful event (a round that fails to authenticate writes its agent_exit) → the oauth_fail
//      alert line, one host, one project, `--interval 3600` so only a push can deliver it.
//      Target: <= 2 s median.
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

const monitors = [];
const say = (line) => process.stderr.write(`remote-fleet.bench: ${line} (load ${r1(loadavg()[0])})\n`);

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
  monitors.push({ child, exited });
  return { child, lines, exited };
}

const results = { node: process.version, hosts: HOSTS, projects: PROJECTS, load_at_start: r1(loadavg()[0]) };
const sshd = await startSshd();
const remoteCmd = `${process.execPath} ${CLI}`;
const monitorEnv = { AGENT_RUNNER_SSH_CONFIG: sshd.configFile, AGENT_RUNNER_REMOTE_CMD: remoteCmd };
// A remote that does not push (as a release before push did): the monitor polls only.
const pollOnlyEnv = { ...monitorEnv, AGENT_RUNNER_REMOTE_CMD: `env AGENT_RUNNER_PROBE_PUSH=0 ${remoteCmd}` };
const WINDOW_1 = '[monitor]\nwindow = 1';
try {
  const projects = Array.from({ length: PROJECTS }, (_, i) => makeProject(`p${i + 1}`, 'ok', WINDOW_1));
  const hostArgs = sshd.aliases.flatMap((a) => ['--host', a]);

  // A. --once over the whole fleet: connect, list and probe every project (one remote process per host), close.
  const onceMs = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    const m = startMonitor([...hostArgs, '--once', '--json'], monitorEnv);
    const code = await m.exited;
    if (code !== 0) throw new Error(`monitor --once over the fleet exited ${code}`);
    onceMs.push(Date.now() - t0);
  }
  results.once_fleet_ms = { ...stats(onceMs), load: r1(loadavg()[0]) };
  say(`--once over the fleet: ${JSON.stringify(results.once_fleet_ms)}`);

  // B. A running monitor over the fleet, three ways: push with a 1 s poll, push alone (a poll an
  // hour apart), and poll alone (a remote that does not push).
  results.fleet = {
    push_interval_1s: await fleetRun(['--interval', '1'], monitorEnv),
    push_only_interval_3600s: await fleetRun(['--interval', '3600'], monitorEnv),
    poll_only_interval_1s: await fleetRun(['--interval', '1'], pollOnlyEnv),
  };

  // C. harmful event → alert line, one host, one project, pushed (the poll is an hour away).
  const p = makeProject('latency', 'ok', WINDOW_1);
  const lat = startMonitor(['--host', sshd.aliases[0], '--project', 'latency', '--json', '--interval', '3600'], monitorEnv);
  await waitUntil(() => lat.lines.some((l) => l.line.type === 'state'), 60_000);
  const latencies = [];
  for (let i = 0; i < RUNS; i++) {
    writeProject(p.dir, AUTH, WINDOW_1);
    const before = lat.lines.length;
    try {
      cli(['round', '--config', p.config], { XDG_STATE_HOME: remoteState });
    } catch {
      /* the round fails: that is the point */
    }
    const evTs = lastEventTs(join(p.dir, '.agent-runner', 'logs'), 'agent_exit');
    const isFire = (l) => l.line.detector === 'oauth_fail' && l.line.state === 'firing';
    await waitUntil(() => lat.lines.slice(before).some(isFire), 60_000);
    latencies.push(lat.lines.slice(before).find(isFire).at - evTs);
    writeProject(p.dir, 'ok', WINDOW_1);
    const mark = lat.lines.length;
    cli(['round', '--config', p.config], { XDG_STATE_HOME: remoteState });
    await waitUntil(() => lat.lines.slice(mark).some((l) => l.line.detector === 'oauth_fail' && l.line.state === 'resolved'), 60_000);
  }
  lat.child.kill('SIGINT');
  await lat.exited;
  results.harmful_event_to_alert_ms = { ...stats(latencies), interval_s: 3600, transport: 'stream', delivered_by: 'push', load_during: r1(loadavg()[0]) };

  /**
   * One monitor over HOSTS × PROJECTS targets: its RSS, the CPU it and the remote probes spend
   * per second of steady watching (each second is a cycle of HOSTS × PROJECTS polls at --interval
   * 1), and, SOAK runs over, a harmful event in every project at once (three failing rounds in
   * parallel, each project on every host) → the alert line of every target: the latency of each,
   * and the cycle, from the first event to the last of the HOSTS × PROJECTS lines.
   */
  async function fleetRun(args, env) {
    const targets = HOSTS * PROJECTS;
    const m = startMonitor([...hostArgs, '--json', ...args], env);
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
    // Every target has polled once: its state line is out.
    say(`fleet ${args.join(' ')}: started`);
    await waitUntil(() => m.lines.filter((l) => l.line.type === 'state').length >= targets, 180_000, `${targets} state lines (${m.lines.filter((l) => l.line.type === 'state').length} so far)`);
    const cpu0 = { at: Date.now(), monitor: cpuMs(m.child.pid), probes: probesCpuMs() };
    await sleep(SOAK_S * 1000);
    const cpu1 = { at: Date.now(), monitor: cpuMs(m.child.pid), probes: probesCpuMs() };
    const perCycle = (a, b) => r1((b - a) / ((cpu1.at - cpu0.at) / 1000));

    const perTarget = [];
    const firstHost = [];
    const lastHost = [];
    const cycle = [];
    const isFire = (l) => l.line.type === 'alert' && l.line.detector === 'oauth_fail' && l.line.state === 'firing';
    const isResolve = (l) => l.line.type === 'alert' && l.line.detector === 'oauth_fail' && l.line.state === 'resolved';
    for (let i = 0; i < 5; i++) {
      for (const pr of projects) writeProject(pr.dir, AUTH, WINDOW_1);
      const before = m.lines.length;
      await Promise.all(projects.map((pr) => cliAsync(['round', '--config', pr.config], { XDG_STATE_HOME: remoteState })));
      const evTs = new Map(projects.map((pr) => [pr.name, lastEventTs(join(pr.dir, '.agent-runner', 'logs'), 'agent_exit')]));
      await waitUntil(() => m.lines.slice(before).filter(isFire).length >= targets, 180_000, `${targets} firing lines, run ${i + 1}`);
      const fired = m.lines.slice(before).filter(isFire);
      for (const l of fired) perTarget.push(l.at - evTs.get(l.line.project));
      const p1 = fired.filter((l) => l.line.project === projects[0].name);
      firstHost.push(p1[0].at - evTs.get(projects[0].name));
      lastHost.push(p1[HOSTS - 1].at - evTs.get(projects[0].name));
      cycle.push(fired[targets - 1].at - Math.min(...evTs.values()));
      for (const pr of projects) writeProject(pr.dir, 'ok', WINDOW_1);
      const mark = m.lines.length;
      await Promise.all(projects.map((pr) => cliAsync(['round', '--config', pr.config], { XDG_STATE_HOME: remoteState })));
      await waitUntil(() => m.lines.slice(mark).filter(isResolve).length >= targets, 180_000, `${targets} resolved lines, run ${i + 1}`);
      say(`fleet ${args.join(' ')}: run ${i + 1} done`);
    }
    clearInterval(sampler);
    const hwm = procStatus(m.child.pid)?.hwm ?? NaN;
    m.child.kill('SIGINT');
    const code = await m.exited;
    return {
      args: args.join(' '),
      targets,
      monitor_rss_mb: { median: r1(quantile(rss, 0.5) / 1024), peak_hwm: r1(hwm / 1024) },
      ssh_clients_rss_mb_max: r1(sshRssKb / 1024),
      cpu_ms_per_s_steady: { monitor: perCycle(cpu0.monitor, cpu1.monitor), remote_probes: perCycle(cpu0.probes, cpu1.probes) },
      event_to_alert_ms_every_target: stats(perTarget),
      event_to_first_host_alert_ms: stats(firstHost),
      event_to_last_host_alert_ms: stats(lastHost),
      cycle_first_event_to_all_targets_ms: stats(cycle),
      exit_on_sigint: code,
      load_during: r1(loadavg()[0]),
    };
  }
} catch (e) {
  say(`failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  // A monitor still running (the bench failed midway) would keep writing into the work dir.
  for (const m of monitors) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
  await Promise.all(monitors.map((m) => m.exited));
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

function cliAsync(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: 'ignore' });
    child.once('exit', resolve);
  });
}

/** CPU time a process has used (user + system), in ms (/proc/PID/stat counts 100 Hz ticks). */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/** CPU time of every remote `probe --stdio` of this CLI (children of sshd, not of the monitor). */
function probesCpuMs() {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(CLI) && cmd.includes('probe\0--stdio')) sum += cpuMs(Number(d));
    } catch {
      /* gone */
    }
  }
  return sum;
}

async function waitUntil(ok, ms, what = 'a condition') {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}
