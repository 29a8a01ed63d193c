import { describe, expect, it } from 'vitest';
import { classifyRemoteFailure, REMOTE_FAILURE_KINDS, type RemoteFailureInput } from '../../src/monitor/remote-diagnosis.js';

// OpenSSH's stderr as this machine's ssh prints it (CRLF and all); the e2e file produces each
// of these for real against a local sshd.
const kindOf = (i: RemoteFailureInput) => classifyRemoteFailure(i, 'pi', 'agent-runner probe --config x.toml').kind;

describe('classifyRemoteFailure', () => {
  it('ssh exit 255 without a host key or auth complaint is an unreachable host', () => {
    expect(kindOf({ exitCode: 255, stderr: 'ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n' })).toBe('host_unreachable');
    expect(kindOf({ exitCode: 255, stderr: 'ssh: Could not resolve hostname pi.invalid: Name or service not known\r\n' })).toBe('host_unreachable');
    expect(kindOf({ exitCode: 255, stderr: 'Connection to 127.0.0.1 closed by remote host.\r\n' })).toBe('host_unreachable');
    expect(kindOf({ exitCode: null, stderr: '', reason: 'no answer within 60s' })).toBe('host_unreachable');
  });

  it('an unknown or changed host key, whatever else ssh said first', () => {
    expect(kindOf({ exitCode: 255, stderr: 'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n' })).toBe('host_key_unknown');
    const changed = '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\nHost key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r\nHost key verification failed.\r\n';
    const d = classifyRemoteFailure({ exitCode: 255, stderr: changed }, 'pi', 'x');
    expect(d.kind).toBe('host_key_unknown');
    expect(d.message).not.toMatch(/^@/);
  });

  it('refused keys are an authentication problem, not an outage', () => {
    expect(kindOf({ exitCode: 255, stderr: 'root@127.0.0.1: Permission denied (publickey).\r\n' })).toBe('ssh_auth_refused');
    expect(kindOf({ exitCode: 255, stderr: 'Received disconnect from 127.0.0.1 port 22:2: Too many authentication failures\r\n' })).toBe('ssh_auth_refused');
  });

  it('the remote shell\'s 127/126, an old CLI, a missing config, anything else', () => {
    expect(kindOf({ exitCode: 127, stderr: 'bash: line 1: agent-runner: command not found\n' })).toBe('remote_not_installed');
    expect(kindOf({ exitCode: 126, stderr: 'bash: line 1: /opt/ar: Permission denied\n' })).toBe('remote_not_installed');
    expect(kindOf({ exitCode: 1, stderr: "error: unknown command 'probe'\n" })).toBe('remote_version_mismatch');
    expect(kindOf({ exitCode: 78, stderr: 'agent-runner: /home/pi/agent-runner.toml: config file not found (run `agent-runner init` to create one)\n' })).toBe('no_project');
    const d = classifyRemoteFailure({ exitCode: 78, stderr: 'agent-runner: x.toml:3: monitor.windoww: unknown key\nmore\n' }, 'pi', 'agent-runner probe --config x.toml');
    expect(d).toMatchObject({ kind: 'remote_error', message: 'agent-runner: x.toml:3: monitor.windoww: unknown key (remote exit 78)' });
    expect(d.fix).toContain('ssh pi agent-runner probe --config x.toml');
  });

  it('what the probe answered instead of a result', () => {
    expect(kindOf({ exitCode: 0, stderr: '', answer: { version: 2, error: 'v2' } })).toBe('remote_version_mismatch');
    expect(kindOf({ exitCode: 0, stderr: '', answer: { code: 'no_project', error: 'x' } })).toBe('no_project');
    expect(kindOf({ exitCode: 0, stderr: '', answer: { code: 'config_invalid', error: 'x' } })).toBe('remote_error');
  });

  it('every kind has a fix naming the host where it helps', () => {
    for (const k of REMOTE_FAILURE_KINDS) expect(k).toMatch(/^[a-z_]+$/);
    expect(classifyRemoteFailure({ exitCode: 127, stderr: '' }, 'pi', 'x').fix).toContain('on pi');
  });
});
