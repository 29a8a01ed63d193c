/**
 * PURE: why a remote poll failed, told from what OpenSSH and the remote program actually said.
 *
 * ssh exits 255 for its own failures and passes any other status through from the remote command
 * (ssh(1), EXIT STATUS). Its stderr names the reason: "Host key verification failed." after an
 * unknown or changed key under BatchMode/StrictHostKeyChecking, "Permission denied (publickey)."
 * when no offered key was accepted, "Connection refused" / "Could not resolve hostname" /
 * "Connection timed out" when there was nobody to talk to. A remote shell that cannot find the
 * program exits 127 ("command not found"), 126 when it cannot execute it.
 */

/** Each way a remote poll can fail; every one is an alert of its own, with severity `unknown`. */
export const REMOTE_FAILURES = {
  host_unreachable: {
    meaning: 'ssh could not connect (exit 255: name not resolved, connection refused or timed out, connection lost)',
    fix: 'check that the host is up and that `ssh {host} true` reaches it; the error says which step failed',
  },
  ssh_auth_refused: {
    meaning: 'the host answered but refused every key offered ("Permission denied (publickey)")',
    fix: 'make `ssh {host} true` work without a prompt: the key of IdentityFile must be in the remote authorized_keys, and a key with a passphrase must be loaded in ssh-agent (BatchMode never asks)',
  },
  host_key_unknown: {
    meaning: 'the host key is not in known_hosts, or differs from the one recorded ("Host key verification failed"); it is never accepted blindly',
    fix: 'connect once with `ssh {host}` and check the fingerprint it shows; if the host was reinstalled, `ssh-keygen -R <hostname>` first',
  },
  remote_not_installed: {
    meaning: 'the remote shell did not find the agent-runner program (exit 127) or could not execute it (126)',
    fix: 'install agent-runner on {host}, or name it with --remote-cmd (monitor.remote_cmd), e.g. "node /opt/agent-runner/dist/bin/main.js": ssh runs a non-interactive shell that does not read ~/.profile',
  },
  remote_version_mismatch: {
    meaning: 'the remote agent-runner does not speak this probe version (an older or newer release)',
    fix: 'install the same agent-runner version on both hosts (`agent-runner --version` here and there)',
  },
  no_project: {
    meaning: 'agent-runner runs there, but there is no project to watch: the config named is missing, or none is registered',
    fix: 'run `agent-runner init` (or serve) in the project on {host}, or name its config with --remote-config PATH',
  },
  remote_error: {
    meaning: 'the remote agent-runner ran and failed; the first line of its stderr says why',
    fix: 'run the same command on {host} to see it whole: `ssh {host} {command}`',
  },
} as const satisfies Record<string, { meaning: string; fix: string }>;

export type RemoteFailureKind = keyof typeof REMOTE_FAILURES;
export const REMOTE_FAILURE_KINDS = Object.keys(REMOTE_FAILURES) as RemoteFailureKind[];

export interface RemoteFailureInput {
  /** ssh's exit status (255: ssh itself failed), or null when no status is known (a timeout, a dropped stream). */
  exitCode: number | null;
  stderr: string;
  /** What the remote probe answered instead of a result, when it answered. */
  answer?: { code?: string; error?: string; version?: unknown };
  /** A failure of ours that is not in stderr (a timeout, ssh not runnable). */
  reason?: string;
}

export interface Diagnosis {
  kind: RemoteFailureKind;
  /** One line: what went wrong, in the words of ssh or the remote. */
  message: string;
  fix: string;
  exitCode: number | null;
}

const HOST_KEY = /Host key verification failed|host key is known for|REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i;
const AUTH = /Permission denied \(|Too many authentication failures|no more authentication methods|Authentication failed/i;
// commander's words for a verb or flag this release does not have: an older agent-runner.
const OLD_CLI = /unknown command '(probe|ls)'|unknown option '--(stdio|since|json)'/;
const NO_CONFIG = /config file not found/;

export function classifyRemoteFailure(i: RemoteFailureInput, host: string, command: string): Diagnosis {
  const first = firstLine(i.stderr);
  const say = (kind: RemoteFailureKind, message: string): Diagnosis => ({
    kind,
    message,
    fix: REMOTE_FAILURES[kind].fix.replaceAll('{host}', host).replaceAll('{command}', command),
    exitCode: i.exitCode,
  });
  if (i.answer) {
    if (i.answer.version !== undefined) return say('remote_version_mismatch', i.answer.error ?? `the remote probe speaks version ${String(i.answer.version)}`);
    const error = i.answer.error ?? 'the remote probe failed';
    if (i.answer.code === 'no_project' || NO_CONFIG.test(error)) return say('no_project', error);
    return say('remote_error', error);
  }
  if (i.exitCode === 255 || i.exitCode === null) {
    const why = sshReason(i.stderr) || i.reason || (i.exitCode === 255 ? 'ssh exited 255' : 'the connection ended');
    // A changed key comes in a banner of a dozen lines; the ones naming the key are the news.
    if (HOST_KEY.test(i.stderr)) return say('host_key_unknown', sshReason(i.stderr, /host key|IDENTIFICATION HAS CHANGED/i) || why);
    if (AUTH.test(i.stderr)) return say('ssh_auth_refused', why);
    return say('host_unreachable', why);
  }
  if (i.exitCode === 127 || i.exitCode === 126) return say('remote_not_installed', `${first || 'command not found'} (remote exit ${i.exitCode})`);
  if (OLD_CLI.test(i.stderr)) return say('remote_version_mismatch', `${first} (remote exit ${i.exitCode})`);
  if (NO_CONFIG.test(i.stderr)) return say('no_project', `${first} (remote exit ${i.exitCode})`);
  return say('remote_error', first ? `${first} (remote exit ${i.exitCode})` : `remote exit ${i.exitCode} with nothing on stderr`);
}

function firstLine(s: string): string {
  return (s.split('\n').map((l) => l.trim()).find(Boolean) ?? '').slice(0, 300);
}

/**
 * ssh's diagnostics in one line. The decisive line is usually the last ("Host key verification
 * failed." follows the key it did not know), and warnings about known_hosts come first.
 */
function sshReason(s: string, keep?: RegExp): string {
  const lines = s
    .split('\n')
    .map((l) => l.replace(/^[\s@]+|[\s@]+$/g, ''))
    .filter((l) => l && !/^Warning: Permanently added/.test(l) && (!keep || keep.test(l)));
  const text = lines.join(' | ');
  return text.length > 400 ? text.slice(0, 400) + '…' : text;
}

/** A remote poll that failed, with the diagnosis the monitor reports as an alert. */
export class RemoteFailure extends Error {
  constructor(readonly diagnosis: Diagnosis) {
    super(diagnosis.message);
  }
}
Object.defineProperty(RemoteFailure.prototype, 'name', { value: 'RemoteFailure' });
