/**
 * `[sandbox] mode = "bwrap"`: each round in bubblewrap, for hosts without systemd. The whole file
 * system read-only, then writable binds for the work dir, the log dir and the agent's own state
 * dirs; a private /tmp and /dev; `network = false` unshares the network (loopback only). The pid
 * namespace is shared on purpose: the supervisor must see and signal every process of the round.
 * Pure: the argv only.
 */
export interface BwrapOptions {
  workDir: string;
  logDir: string;
  /** Extra writable paths; missing ones are skipped (--bind-try). */
  writablePaths: string[];
  network: boolean;
}

export function bwrapArgv(o: BwrapOptions): string[] {
  return [
    'bwrap',
    // If the supervisor is SIGKILLed the sandbox goes with it; the round's cgroup is the other net.
    '--die-with-parent',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    // After /tmp: a work dir under /tmp is bound on top of the private one.
    '--tmpfs', '/tmp',
    '--bind', o.workDir, o.workDir,
    '--bind', o.logDir, o.logDir,
    ...o.writablePaths.flatMap((p) => ['--bind-try', p, p]),
    ...(o.network ? [] : ['--unshare-net']),
    '--',
  ];
}
