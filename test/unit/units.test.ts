// Unit rendering for both scopes (system units cannot be started here: no system manager).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { install } from '../../src/service/install.js';
import { renderUnits, timeoutStopSec } from '../../src/service/render.js';
import { REPO } from '../helpers/project.js';

const cfg = parseConfig('[agent]\ncommand = ["claude"]\nprompt_delivery = "stdin"\n[runtime]\nproject = "myproj"\nstop_drain_s = 120\nkill_grace_s = 5\n[prompt]\nfile = "p.md"\n', '/srv/my proj/agent-runner.toml');
const base = { cfg, packageDir: REPO, cliEntry: `${REPO}/dist/bin/main.js`, nodePath: '/usr/bin/node', pathEnv: '/home/u/.nvm/bin:/usr/bin', envFile: '/etc/agent-runner/x.env' };

describe('systemd unit rendering', () => {
  it('--system: User=, multi-user.target, the same hardening', () => {
    const { serve, monitor } = renderUnits({ ...base, system: true, user: 'alice' });
    expect(serve.name).toBe("agent-runner@myproj.service");
    expect(serve.text).toMatch(/^User=alice$/m);
    expect(serve.text).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(monitor.text).toMatch(/^User=alice$/m);
    expect(serve.text).toMatch(/^KillMode=mixed$/m);
  });

  it('user scope: no User=, default.target; quoted paths with spaces; PATH as captured', () => {
    const { serve } = renderUnits({ ...base, system: false, memoryMax: '4G' });
    expect(serve.text).not.toMatch(/^User=/m);
    expect(serve.text).toMatch(/^WantedBy=default\.target$/m);
    expect(serve.text).toContain('ExecStart="/usr/bin/node" --max-semi-space-size=1 "' + REPO + '/dist/bin/main.js" serve --config "/srv/my proj/agent-runner.toml"');
    expect(serve.text).toContain('Environment="PATH=/home/u/.nvm/bin:/usr/bin"');
    expect(serve.text).toMatch(/^MemoryMax=4G$/m);
  });

  it('TimeoutStopSec covers the drain, the grace twice, and a margin', () => {
    expect(timeoutStopSec(cfg)).toBe(120 + 10 + 30);
    expect(renderUnits({ ...base, system: false }).serve.text).toMatch(/^TimeoutStopSec=160$/m);
  });

  it('halts are never restarted; done and budget count as success', () => {
    const text = renderUnits({ ...base, system: false }).serve.text;
    const prevent = /^RestartPreventExitStatus=(.*)$/m.exec(text)![1]!.split(' ').map(Number);
    const success = /^SuccessExitStatus=(.*)$/m.exec(text)![1]!.split(' ').map(Number);
    expect(prevent).toEqual(expect.arrayContaining([75, 78, 80, 81, 85, 86]));
    expect(success).toEqual(expect.arrayContaining([82, 83, 84]));
    expect(prevent.filter((c) => success.includes(c))).toEqual([]);
  });
});

describe('[limits.service] and [sandbox] mode = "systemd" in the serve unit', () => {
  const root = mkdtempSync(join(tmpdir(), 'ar-units-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  // A real repository whose work dir is a worktree: its git dirs live outside the work dir.
  const main = join(root, 'main');
  mkdirSync(main);
  execFileSync('git', ['init', '-q', main]);
  execFileSync('git', ['-C', main, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init']);
  const work = join(root, 'work 100%');
  execFileSync('git', ['-C', main, 'worktree', 'add', '-q', '-b', 'w', work]);
  const toml = (extra: string) =>
    `[agent]\ncommand = ["claude"]\nprompt_delivery = "stdin"\n[runtime]\nproject = "p"\nlog_dir = "${root}/logs"\n[prompt]\nfile = "p.md"\n${extra}`;
  const render = (extra: string, memoryMax?: string) =>
    renderUnits({ ...base, cfg: parseConfig(toml(extra), join(work, 'agent-runner.toml')), nodePath: process.execPath, system: false, ...(memoryMax ? { memoryMax } : {}) });

  it('renders the service\'s own limits, not the rounds\'', () => {
    const { serve, monitor } = render('[limits]\nmemory_max = "64M"\ntasks_max = 20\n[limits.service]\nmemory_max = "1G"\ntasks_max = 256\ncpu_quota = "80%"\nio_weight = 50\n');
    expect(serve.text).toMatch(new RegExp(`^MemoryMax=${1024 ** 3}$`, 'm'));
    expect(serve.text).toMatch(/^MemorySwapMax=0$/m);
    expect(serve.text).toMatch(/^TasksMax=256$/m);
    expect(serve.text).toMatch(/^CPUQuota=80%$/m);
    expect(serve.text).toMatch(/^IOWeight=50$/m);
    expect(serve.text).not.toMatch(/^TasksMax=20$/m);
    expect(monitor.text).not.toMatch(/^(MemoryMax|TasksMax)=/m);
    // --memory-max wins over the config's memory_max.
    expect(render('[limits.service]\nmemory_max = "1G"\n', '4G').serve.text.match(/^Memory(Swap)?Max=.*$/gm)).toEqual(['MemoryMax=4G']);
    expect(render('').serve.text).not.toMatch(/^(MemoryMax|TasksMax|CPUQuota|IOWeight)=/m);
  });

  it('mode = "systemd": hardening with the work dir, log dir, the worktree\'s git dirs and the state dirs writable', () => {
    const text = render('[sandbox]\nmode = "systemd"\nwritable_paths = ["~/.claude-test-state"]\n').serve.text;
    for (const l of ['NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectSystem=strict', 'ProtectHome=read-only']) expect(text).toMatch(new RegExp(`^${l}$`, 'm'));
    const rw = /^ReadWritePaths=(.*)$/m.exec(text)![1]!;
    expect(rw).toContain(`"${work.replace('%', '%%')}"`);
    expect(rw).toContain(`"${root}/logs"`);
    expect(rw).toContain(`"${main}/.git/worktrees/work-100%%"`);
    expect(rw).toContain(`"${main}/.git"`);
    expect(rw).toMatch(/"-\/[^"]*\/\.claude-test-state"$/);
    expect(render('').serve.text).not.toMatch(/^(ProtectSystem|ReadWritePaths)=/m);
  });

  it('install warns when the private /tmp of the sandboxed unit would hide the work dir', async () => {
    const opts = { monitor: false, system: false, dryRun: true, linger: false, packageDir: REPO, cliEntry: `${REPO}/dist/bin/main.js` };
    const inTmp = parseConfig(toml('[sandbox]\nmode = "systemd"\n'), '/tmp/proj/agent-runner.toml');
    expect((await install(inTmp, opts)).warnings.join('\n')).toMatch(/private \/tmp, which hides \/tmp\/proj\b/);
    const outside = parseConfig(toml('[sandbox]\nmode = "systemd"\n').replace(`log_dir = "${root}/logs"`, 'log_dir = "/srv/logs"'), '/srv/proj/agent-runner.toml');
    expect((await install(outside, opts)).warnings.filter((w) => w.includes('private /tmp'))).toEqual(REPO.startsWith('/tmp/') ? [expect.any(String)] : []);
  });

  it.skipIf(spawnSync('systemd-analyze', ['--version']).status !== 0)('systemd-analyze verify accepts the sandboxed unit with limits', () => {
    const { serve } = render('[limits.service]\nmemory_max = "1G"\ntasks_max = 256\n[sandbox]\nmode = "systemd"\nwritable_paths = ["/nonexistent/state"]\n');
    const file = join(root, serve.name);
    writeFileSync(file, serve.text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    // verify also checks that ExecStart's binary exists; everything it says is a finding.
    expect({ status: r.status, out: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, out: '' });
  });
});
