import { systemdProperties, type LimitsConfig } from './limits.js';

/**
 * Under a systemd manager each round runs in a transient scope of its own
 * (`agent-runner-<project>-R<N>.scope`), made by `systemd-run --scope`, which moves itself into the
 * scope and then execs the agent: same pid, no daemon in between, and the manager applies the
 * limits from the scope's properties. A scope (not a Delegate=yes subtree of the serve unit) because
 * it is a unit of its own — `systemctl status`, `systemctl show` and `systemd-cgtop` see each
 * round and its limits — and works the same for a user manager, where delegating controllers
 * to a service depends on the host's configuration. docs/isolation.md has the measured cost.
 */
export interface ScopeManager {
  /** --user for a user manager (MANAGERPID is set in the units of a user manager only). */
  user: boolean;
  /** The serve unit: the scope is bound to it, so stopping the service stops the round. */
  serviceUnit: string | undefined;
}

/** The manager that started us, if we run as a systemd service; undefined outside one. */
export function detectScopeManager(env: NodeJS.ProcessEnv, ownCgroupPath: string | undefined): ScopeManager | undefined {
  if (!env['INVOCATION_ID']) return undefined;
  const unit = ownCgroupPath?.split('/').filter(Boolean).at(-1);
  return { user: env['MANAGERPID'] !== undefined, serviceUnit: unit?.endsWith('.service') ? unit : undefined };
}

/** Unit names take [A-Za-z0-9:_.-]; anything else in a project name becomes "_". */
export function scopeName(project: string, roundNum: number): string {
  return `${scopeNamePrefix(project)}${roundNum}`;
}

/** What every round of the project is named with, up to the round number. */
export function scopeNamePrefix(project: string): string {
  return `agent-runner-${project.replace(/[^A-Za-z0-9:_.-]/g, '_')}-R`;
}

/** The argv prefix that runs a command in the round's scope. */
export function scopeArgv(m: ScopeManager, name: string, limits: LimitsConfig): string[] {
  return [
    'systemd-run',
    ...(m.user ? ['--user'] : []),
    '--scope',
    '--quiet',
    '--collect',
    `--unit=${name}`,
    `--description=agent-runner round ${name}`,
    // BindsTo: the round does not outlive the service. Before: stop jobs run in reverse order, so the
    // service stops first — serve drains and interrupts the round itself — and the scope after it.
    ...(m.serviceUnit ? [`--property=BindsTo=${m.serviceUnit}`, `--property=Before=${m.serviceUnit}`] : []),
    ...systemdProperties(limits).map((p) => `--property=${p}`),
    '--',
  ];
}
