// Unit rendering for both scopes (system units cannot be started here: no system manager).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
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
