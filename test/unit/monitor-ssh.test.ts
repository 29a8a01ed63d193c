import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { remoteCommandLine, shellQuote, splitRemoteCmd, validateHost } from '../../src/ssh/args.js';
import { SshSession } from '../../src/ssh/session.js';

describe('ssh arguments', () => {
  it('refuses hosts that ssh would read as options, and junk', () => {
    for (const bad of ['-oProxyCommand=sh', '-p', 'a b', 'host;rm', '$(id)', '', 'a\nb']) expect(() => validateHost(bad), bad).toThrow();
    for (const good of ['pi', 'pi.local', 'user@pi', 'build-01', '10.0.0.7']) expect(validateHost(good)).toBe(good);
  });

  it('quotes every word so the remote shell sees exactly the argv (checked against a real sh)', () => {
    const words = ['echo', "it's", 'a b', '$HOME', '`id`', '"q"', ';', '*', '', 'plain-word/x.y'];
    const out = execFileSync('sh', ['-c', `printf '%s\\n' ${remoteCommandLine(words.slice(1))}`], { encoding: 'utf8' });
    expect(out.split('\n').slice(0, -1)).toEqual(words.slice(1));
    expect(shellQuote('agent-runner')).toBe('agent-runner');
    expect(() => shellQuote('a\nb')).toThrow();
  });

  it('splits --remote-cmd into words, never through a shell', () => {
    expect(splitRemoteCmd('  node  /opt/ar/main.js ')).toEqual(['node', '/opt/ar/main.js']);
    expect(() => splitRemoteCmd('   ')).toThrow();
  });

  it('always BatchMode, a connect timeout, keepalives and multiplexing; `--` before the host', () => {
    const argv = new SshSession({ host: 'pi', configFile: '/x/config', controlDir: '/run/user/0/agent-runner' }).argv(['agent-runner', 'probe', '--json']);
    const opts = argv.filter((_, i) => argv[i - 1] === '-o');
    expect(opts).toEqual(expect.arrayContaining(['BatchMode=yes', 'ConnectTimeout=10', 'ServerAliveInterval=15', 'ControlMaster=auto']));
    expect(opts.some((o) => o.startsWith('ControlPath=') && o.length < 108)).toBe(true);
    expect(argv.slice(0, 2)).toEqual(['-F', '/x/config']);
    expect(argv.slice(-3)).toEqual(['--', 'pi', 'agent-runner probe --json']);
    // Nothing that relaxes host key checking.
    expect(argv.join(' ')).not.toMatch(/StrictHostKeyChecking|UserKnownHostsFile/);
  });
});
