import { EXIT } from './exit-codes.js';

/**
 * An error meant for the user: printed as one line (or as JSON with --json) and turned into
 * an exit code by cli/main.ts. Anything that is not a RunnerError is a bug and gets a stack trace.
 */
export class RunnerError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number = EXIT.FAILURE,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
Object.defineProperty(RunnerError.prototype, 'name', { value: 'RunnerError' });

/** A bad config file or failed startup check: exit 78 (EX_CONFIG). */
export class ConfigError extends RunnerError {
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    readonly detail: string,
    readonly line?: number,
    options?: ErrorOptions,
  ) {
    const where = line !== undefined ? `${file}:${line}` : file;
    // One line, always: keys and values from a hostile file may hold control characters.
    super(oneLine(key ? `${where}: ${key}: ${detail}` : `${where}: ${detail}`), 'config_invalid', EXIT.CONFIG, options);
  }
}
Object.defineProperty(ConfigError.prototype, 'name', { value: 'ConfigError' });

export interface LockHolder {
  pid: number;
  started_at?: string;
  cmdline?: string;
  start_time?: number;
}

/** Another supervisor owns this project: exit 75 (EX_TEMPFAIL). */
export class LockHeldError extends RunnerError {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder
      ? `held by pid ${holder.pid}${holder.started_at ? ` since ${holder.started_at}` : ''}${holder.cmdline ? ` (${holder.cmdline})` : ''}`
      : 'holder unknown';
    super(`another agent-runner supervises this project: ${lockPath} is ${who}`, 'lock_held', EXIT.LOCK_HELD);
  }
}
Object.defineProperty(LockHeldError.prototype, 'name', { value: 'LockHeldError' });

export class UsageError extends RunnerError {
  constructor(message: string) {
    super(message, 'usage', EXIT.USAGE);
  }
}
Object.defineProperty(UsageError.prototype, 'name', { value: 'UsageError' });

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Escape control characters so a message stays on one line. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
