import { RunnerError } from '../errors.js';
import { run } from '../util/exec.js';

/**
 * A thin typed wrapper over systemctl (user or system manager). Errors carry a short message;
 * systemctl's stderr stays as detail.
 */
export interface SystemctlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function systemctl(scope: 'user' | 'system', args: string[], opts: { check?: boolean; timeoutMs?: number } = {}): Promise<SystemctlResult> {
  const full = scope === 'user' ? ['--user', ...args] : args;
  // execFile, not execa: `status` and `peek` call this, and execa's import alone costs ~75 ms.
  const res = await run('systemctl', full, { env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' }, timeoutMs: opts.timeoutMs ?? 120_000 });
  if (opts.check && res.exitCode !== 0) {
    const why = res.stderr.trim().split('\n')[0] || `exit ${res.exitCode}`;
    const hint = /Failed to connect to bus|No medium found/.test(res.stderr)
      ? ' (no systemd user manager is reachable: run from a login session, or enable lingering with `sudo loginctl enable-linger $USER`, or use --system)'
      : '';
    throw new RunnerError(`systemctl ${full.join(' ')} failed: ${why}${hint}`, 'systemd_failed', 1);
  }
  return res;
}

/** `systemctl show -p A,B unit` as a record. */
export async function showUnit(scope: 'user' | 'system', unit: string, props: string[]): Promise<Record<string, string> | undefined> {
  const r = await systemctl(scope, ['show', '-p', props.join(','), '--', unit]);
  if (r.exitCode !== 0) return undefined;
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
