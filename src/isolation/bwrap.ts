import type { WritablePaths } from './writable.js';

/**
 * `[sandbox] mode = "bwrap"`: each round in bubblewrap, for hosts without systemd. The whole file
 * system read-only, then writable binds for the work dir, the log dir, the repository's git dirs and
 * the agent's own state dirs; a private /tmp and /dev; `network = false` unshares the network (the
 * round gets a loopback of its own, and nothing else). The pid namespace and the session are shared
 * on purpose: the supervisor must see and signal every process of the round by group and by marker.
 * Pure: the argv only.
 */
export interface BwrapOptions {
  writable: WritablePaths;
  network: boolean;
}

export function bwrapArgv(o: BwrapOptions): string[] {
  return [
    'bwrap',
    // If the supervisor is SIGKILLed the sandbox goes with it; the round's cgroup is the other net.
    '--die-with-parent',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    // Before the binds: a work dir under /tmp is bound on top of the private /tmp.
    '--tmpfs', '/tmp',
    ...o.writable.required.flatMap((p) => ['--bind', p, p]),
    // A state dir the agent has not created yet is skipped, not an error.
    ...o.writable.optional.flatMap((p) => ['--bind-try', p, p]),
    ...(o.network ? [] : ['--unshare-net']),
    '--',
  ];
}

/** The smallest sandbox of the same kind, for the startup check: can bwrap make its namespaces here? */
export function bwrapProbeArgv(network: boolean): string[] {
  return [...bwrapArgv({ writable: { required: [], optional: [] }, network }), 'true'];
}
