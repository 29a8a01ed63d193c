import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RunnerError } from '../errors.js';

/**
 * Where the multiplexing sockets live: $XDG_RUNTIME_DIR/agent-runner, else ~/.cache/agent-runner/ssh,
 * else /tmp/agent-runner-<uid>; always a 0700 directory of ours. A unix socket path must fit in
 * 108 bytes, and ssh adds a 17-byte suffix while it sets a master up, so long homes fall back.
 */
const MAX_DIR = 107 - 17 - 41; // 41 = "/" + the 40-hex %C hash

export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  const candidates = [
    env['XDG_RUNTIME_DIR'] ? join(env['XDG_RUNTIME_DIR'], 'agent-runner') : undefined,
    join(env['HOME'] || homedir(), '.cache', 'agent-runner', 'ssh'),
    `/tmp/agent-runner-${uid}`,
  ].filter((d): d is string => d !== undefined && d.length <= MAX_DIR);
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(dir);
      if (!st.isDirectory() || st.uid !== uid) continue;
      if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
      return dir;
    } catch {
      /* next candidate */
    }
  }
  throw new RunnerError('no private directory for ssh control sockets (tried $XDG_RUNTIME_DIR, ~/.cache and /tmp)', 'ssh_control_dir');
}

export function controlPath(dir: string): string {
  return join(dir, '%C');
}
