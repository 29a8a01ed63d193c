import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { RunnerError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

/** Unit names and places, upstream's naming: concrete instance files, no template. */
export function serveUnitName(project: string): string {
  return `agent-runner@${project}.service`;
}
export function monitorUnitName(project: string): string {
  return `agent-runner-monitor@${project}.service`;
}

export function userUnitDir(): string {
  const base = process.env['XDG_CONFIG_HOME'] || join(process.env['HOME'] || homedir(), '.config');
  return join(base, 'systemd', 'user');
}
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

export type ServiceMode = 'systemd-user' | 'systemd-system' | 'pid-file' | 'none';

export function validateProjectName(project: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(project) || project.startsWith('-') || project.startsWith('.'))
    throw new RunnerError(`project name "${project}" cannot be used in a unit name: use letters, digits, ".", "_" or "-" (set runtime.project)`, 'bad_project_name', EXIT.CONFIG);
  return project;
}

/** Which service manager owns this project: a user unit, a system unit, or neither. */
export function detectUnitMode(project: string): { mode: 'systemd-user' | 'systemd-system'; unitFile: string } | undefined {
  const user = join(userUnitDir(), serveUnitName(project));
  if (existsSync(user)) return { mode: 'systemd-user', unitFile: user };
  const system = join(SYSTEM_UNIT_DIR, serveUnitName(project));
  if (existsSync(system)) return { mode: 'systemd-system', unitFile: system };
  return undefined;
}

export function currentUser(): string {
  return process.env['SUDO_USER'] || process.env['USER'] || userInfo().username;
}

/** Linger, read where logind keeps it: no bus needed. */
export function lingerEnabled(user = currentUser()): boolean | null {
  if (!existsSync('/var/lib/systemd')) return null;
  return existsSync(`/var/lib/systemd/linger/${user}`);
}
