import { describe, expect, it } from 'vitest';
import { bwrapArgv } from './bwrap.js';
import { detectScopeManager, scopeArgv, scopeName } from './systemd-scope.js';

describe('systemd scope', () => {
  it('is used only under a unit; --user when the manager is a user manager', () => {
    expect(detectScopeManager({}, '/')).toBeUndefined();
    expect(detectScopeManager({ INVOCATION_ID: 'x', MANAGERPID: '12' }, '/user.slice/user@1000.service/app.slice/agent-runner@p.service')).toEqual({
      user: true,
      serviceUnit: 'agent-runner@p.service',
    });
    expect(detectScopeManager({ INVOCATION_ID: 'x' }, '/system.slice/agent-runner@p.service')).toEqual({ user: false, serviceUnit: 'agent-runner@p.service' });
  });

  it('names the round and binds it to the service', () => {
    expect(scopeName('my proj', 7)).toBe('agent-runner-my_proj-R7');
    expect(scopeArgv({ user: true, serviceUnit: 'agent-runner@p.service' }, 'agent-runner-p-R7', { tasks_max: 10 })).toEqual([
      'systemd-run', '--user', '--scope', '--quiet', '--collect', '--unit=agent-runner-p-R7', '--description=agent-runner round agent-runner-p-R7',
      '--property=BindsTo=agent-runner@p.service', '--property=Before=agent-runner@p.service', '--property=TasksMax=10', '--',
    ]);
  });
});

describe('bwrap', () => {
  it('binds work dir, log dir and state dirs writable over a read-only root; network off unshares it', () => {
    const a = bwrapArgv({ writable: { required: ['/w', '/l'], optional: ['/home/u/.claude'] }, network: false });
    expect(a.slice(0, 2)).toEqual(['bwrap', '--die-with-parent']);
    const s = a.join(' ');
    expect(s).toContain('--ro-bind / /');
    expect(s).toContain('--tmpfs /tmp --bind /w /w --bind /l /l --bind-try /home/u/.claude /home/u/.claude --unshare-net --');
    expect(bwrapArgv({ writable: { required: ['/w'], optional: [] }, network: true })).not.toContain('--unshare-net');
  });
});
