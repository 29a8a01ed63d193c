import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * agent-runner's per-user state, outside every project: $XDG_STATE_HOME/agent-runner, else
 * ~/.local/state/agent-runner (the XDG default). What lives here belongs to the user running
 * agent-runner, not to a watched project, so read-only views can keep their bookkeeping here.
 */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  return join(base, 'agent-runner');
}
