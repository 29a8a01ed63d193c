import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { exitCodesWhere } from '../exit-codes.js';
import { systemdProperties } from '../isolation/limits.js';
import { systemdSandboxLines } from '../isolation/systemd-sandbox.js';
import { sandboxWritablePaths } from '../isolation/writable.js';
import { LONG_RUNNING_NODE_FLAGS } from './node-flags.js';
import { monitorUnitName, serveUnitName } from './units.js';

export interface RenderInput {
  cfg: Config;
  packageDir: string;
  cliEntry: string;
  nodePath: string;
  pathEnv: string;
  envFile: string;
  system: boolean;
  user?: string;
  memoryMax?: string;
}

/** TimeoutStopSec must cover serve's drain plus the agent's TERM grace, with a margin. */
export function timeoutStopSec(cfg: Config): number {
  return Math.ceil(cfg.runtime.stop_drain_s + cfg.runtime.kill_grace_s * 2 + 30);
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, k: string) => {
    if (!(k in vars)) throw new Error(`template variable ${k} has no value`);
    return vars[k]!;
  });
}

/** systemd quoting for Environment= and paths: the unit must say exactly what was captured. */
function unitEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
}

const lines = (xs: string[]) => xs.map((l) => `${l}\n`).join('');

/**
 * `[limits.service]` as the serve unit's own resource control; `install --memory-max` overrides its
 * memory_max. The rounds' `[limits]` go to each round's own cgroup, not here: under systemd a round
 * runs in a scope beside the service, so these bound serve itself (and the rounds only when
 * `limits.cgroup = "off"` keeps them in the service's cgroup).
 */
export function serviceLimitLines(cfg: Config, memoryMax?: string): string[] {
  const props = systemdProperties(cfg.limits.service).filter((p) => !(memoryMax && /^Memory(Swap)?Max=/.test(p)));
  if (memoryMax) props.unshift(`MemoryMax=${memoryMax}`);
  return props.length ? ['# [limits.service]: the service\'s own resource limits.', ...props] : [];
}

export function renderUnits(input: RenderInput): { serve: { name: string; text: string }; monitor: { name: string; text: string } } {
  const { cfg } = input;
  const vars: Record<string, string> = {
    PROJECT: cfg.project,
    PACKAGE_DIR: input.packageDir,
    WORK_DIR: unitEscape(cfg.paths.workDir),
    NODE: unitEscape(input.nodePath),
    NODE_FLAGS: LONG_RUNNING_NODE_FLAGS.join(' '),
    CLI: unitEscape(input.cliEntry),
    CONFIG: unitEscape(cfg.path),
    PATH: unitEscape(input.pathEnv),
    ENV_FILE: unitEscape(input.envFile),
    TIMEOUT_STOP: String(timeoutStopSec(cfg)),
    PREVENT: exitCodesWhere('prevent').join(' '),
    SUCCESS: exitCodesWhere('success').join(' '),
    USER: input.system && input.user ? `User=${input.user}\n` : '',
    SERVICE_LIMITS: lines(serviceLimitLines(cfg, input.memoryMax)),
    SANDBOX: lines(cfg.sandbox.mode === 'systemd' ? systemdSandboxLines(sandboxWritablePaths(cfg), unitEscape) : []),
    WANTED_BY: input.system ? 'multi-user.target' : 'default.target',
    SERVE_UNIT: serveUnitName(cfg.project),
  };
  const dir = join(input.packageDir, 'templates', 'systemd');
  return {
    serve: { name: serveUnitName(cfg.project), text: fill(readFileSync(join(dir, 'serve.service'), 'utf8'), vars) },
    monitor: { name: monitorUnitName(cfg.project), text: fill(readFileSync(join(dir, 'monitor.service'), 'utf8'), vars) },
  };
}
