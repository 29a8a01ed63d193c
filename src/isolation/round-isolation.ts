import { readFileSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { isAlive } from '../proc/procfs.js';
import { run, which } from '../util/exec.js';
import { bwrapArgv } from './bwrap.js';
import { directCgroupUnavailable, readCgroupLayout, removeStaleRoundDirs, RoundCgroup } from './cgroup.js';
import { sandboxWritablePaths } from './writable.js';
import { detectScopeManager, scopeArgv, scopeName, scopeNamePrefix, type ScopeManager } from './systemd-scope.js';
import { sleep } from '../util/sleep.js';

/**
 * What a round runs in: its cgroup (a systemd scope under a manager, a directory of its own as
 * root elsewhere, else none and the sweep alone) and its sandbox. The round calls `prepare` before
 * the spawn, `started` after it and `finish` after the sweep; everything else lives here.
 */
export type CgroupMode = 'scope' | 'direct' | 'none';

export interface RoundIsolation {
  /** The argv to spawn: wrappers first, then the agent's. */
  argv: string[];
  mode: CgroupMode;
  /** Why there is no per-round cgroup (mode none). */
  reason?: string;
  name: string;
  cgroup?: RoundCgroup;
  sandbox: Config['sandbox']['mode'];
}

/** Enters each cgroup.procs file given before `--`, then execs the rest: the agent never runs outside. */
const ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';

export function decideCgroupMode(cfg: Config, env: NodeJS.ProcessEnv = process.env): { mode: CgroupMode; reason?: string; manager?: ScopeManager } {
  if (cfg.limits.cgroup === 'off') return { mode: 'none', reason: 'limits.cgroup = "off"' };
  const layout = readCgroupLayout();
  const manager = detectScopeManager(env, layout.v2?.own);
  if (manager && which('systemd-run', env['PATH'] ?? '')) return { mode: 'scope', manager };
  const why = directCgroupUnavailable(layout);
  return why ? { mode: 'none', reason: why } : { mode: 'direct' };
}

export function prepareIsolation(cfg: Config, roundNum: number, agentArgv: string[]): RoundIsolation {
  const name = scopeName(cfg.project, roundNum);
  const decided = decideCgroupMode(cfg);
  let argv = agentArgv;
  if (cfg.sandbox.mode === 'bwrap')
    argv = [...bwrapArgv({ writable: sandboxWritablePaths(cfg), network: cfg.sandbox.network }), ...argv];
  const sandbox = sandboxInEffect(cfg.sandbox.mode);
  if (decided.mode === 'none') return { argv, mode: 'none', ...(decided.reason ? { reason: decided.reason } : {}), name, sandbox };
  removeStaleRoundDirs(scopeNamePrefix(cfg.project));
  const cgroup = RoundCgroup.create(name, decided.mode, cfg.limits);
  if (decided.mode === 'scope') argv = [...scopeArgv(decided.manager!, name, cfg.limits), ...argv];
  const enter = cgroup.enterFiles();
  if (enter.length > 0) argv = ['/bin/sh', '-c', ENTER, 'agent-runner-enter', ...enter, '--', ...argv];
  return { argv, mode: decided.mode, name, cgroup, sandbox };
}

/**
 * The systemd sandbox is the unit's, not ours: a round started from a terminal, or by a unit
 * installed before the mode was set, runs without it. NoNewPrivileges=, which the rendered hardening
 * always carries, is the one part a process can see of itself.
 */
export function sandboxInEffect(mode: Config['sandbox']['mode'], env: NodeJS.ProcessEnv = process.env): Config['sandbox']['mode'] {
  if (mode !== 'systemd') return mode;
  let nnp = false;
  try {
    nnp = /^NoNewPrivs:\s*1$/m.test(readFileSync('/proc/self/status', 'latin1'));
  } catch {
    /* no procfs: cannot tell, so do not claim it */
  }
  return env['INVOCATION_ID'] && nnp ? 'systemd' : 'off';
}

/**
 * After the spawn. A scope's directory is the manager's: wait (briefly) until systemd-run has moved
 * the leader into it, so a kill can reach it; a leader that is already gone is asked about instead.
 */
export async function afterSpawn(iso: RoundIsolation, pid: number, manager = detectScopeManager(process.env, readCgroupLayout().v2?.own)): Promise<void> {
  const cg = iso.cgroup;
  if (iso.mode !== 'scope' || !cg) return;
  const until = Date.now() + 5000;
  while (!cg.resolveScope(pid) && isAlive(pid) && Date.now() < until) await sleep(5);
  if (!cg.v2Dir) await resolveFromManager(iso, manager);
}

/** Before the final sweep: a scope whose leader exited early is found through the manager. */
export async function resolveFromManager(iso: RoundIsolation, manager = detectScopeManager(process.env, readCgroupLayout().v2?.own)): Promise<void> {
  if (iso.mode !== 'scope' || !iso.cgroup || iso.cgroup.v2Dir || !manager) return;
  const r = await run('systemctl', [...(manager.user ? ['--user'] : []), 'show', '-p', 'ControlGroup', '--value', `${iso.name}.scope`], { timeoutMs: 5000 }).catch(() => undefined);
  const cg = r?.stdout.trim();
  if (cg) iso.cgroup.setScopeDir(cg);
}

/** After the sweep: our directories removed; what could not be removed is returned. */
export async function finishIsolation(iso: RoundIsolation): Promise<string[]> {
  return iso.cgroup ? iso.cgroup.remove() : [];
}
