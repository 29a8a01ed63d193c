import type { WritablePaths } from './writable.js';

/**
 * `[sandbox] mode = "systemd"`: hardening rendered into the serve unit. A round's scope is a cgroup,
 * not a new process: the agent keeps the mount namespace and the no-new-privileges bit of serve,
 * which started it, so every round runs under exactly these settings. The monitor unit runs no agent
 * code and is left as it is. Pure: the lines only; `quote` is the unit file's quoting.
 */
export function systemdSandboxLines(w: WritablePaths, quote: (s: string) => string): string[] {
  return [
    '# [sandbox] mode = "systemd": the file system read-only but for the paths below, for serve and every round.',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=strict',
    // read-only, not yes: agent CLIs live in ~/.local/bin or under nvm, and read their config from ~.
    'ProtectHome=read-only',
    // A missing required path fails the start (226/NAMESPACE), which is right: `install` creates the
    // log dir first. A missing state dir ("-") is skipped.
    `ReadWritePaths=${[...w.required.map((p) => `"${quote(p)}"`), ...w.optional.map((p) => `"-${quote(p)}"`)].join(' ')}`,
  ];
}

/** The settings `doctor` looks for in an installed unit to tell whether it carries the sandbox. */
export const SYSTEMD_SANDBOX_KEYS = ['NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectSystem=strict', 'ProtectHome=read-only'] as const;
