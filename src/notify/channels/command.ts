import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readStat } from '../../proc/procfs.js';
import { terminateRound } from '../../round/process-group.js';
import type { Notification } from '../kinds.js';
import type { ChannelSender, SendHooks, SendOutcome } from './types.js';

export interface CommandChannelOptions {
  argv: readonly string[];
  timeoutMs: number;
  /** Added to the inherited environment (the channel's env_file). */
  env: Record<string, string>;
  cwd: string;
  channel: string;
  /** TERM → this → KILL when the command overruns its timeout. */
  killGraceMs?: number;
}

/** The `AGENT_RUNNER_*` variables a command channel receives, beside the JSON on its stdin. */
export function notificationEnv(n: Notification, channel: string): Record<string, string> {
  return {
    AGENT_RUNNER_NOTIFY_KEY: n.key,
    AGENT_RUNNER_NOTIFY_KIND: n.kind,
    AGENT_RUNNER_NOTIFY_SEVERITY: n.severity,
    AGENT_RUNNER_NOTIFY_TITLE: n.title,
    AGENT_RUNNER_NOTIFY_MESSAGE: n.message,
    AGENT_RUNNER_NOTIFY_HINT: n.hint ?? '',
    AGENT_RUNNER_NOTIFY_CHANNEL: channel,
    AGENT_RUNNER_PROJECT: n.project,
    AGENT_RUNNER_HOST: n.host,
    AGENT_RUNNER_NOTIFY_TS: n.ts,
  };
}

/**
 * An argv (never a shell) that gets the notification as JSON on stdin and as environment
 * variables. It runs in a process group of its own; past its timeout the whole tree is killed,
 * so a hung script can never pile up behind the next notification.
 */
export class CommandChannel implements ChannelSender {
  constructor(private readonly o: CommandChannelOptions) {}

  send(n: Notification, hooks: SendHooks = {}): Promise<SendOutcome> {
    const marker = `AGENT_RUNNER_NOTIFY_ATTEMPT=${randomUUID()}`;
    const [name, eq] = [marker.slice(0, marker.indexOf('=')), marker.slice(marker.indexOf('=') + 1)];
    return new Promise((resolvePromise) => {
      const child = spawn(this.o.argv[0]!, this.o.argv.slice(1), {
        cwd: this.o.cwd,
        env: { ...process.env, ...this.o.env, ...notificationEnv(n, this.o.channel), [name]: eq },
        stdio: ['pipe', 'ignore', 'pipe'],
        detached: true,
      });
      let stderr = '';
      let timedOut = false;
      let settled = false;
      const done = (o: SendOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolvePromise(o);
      };
      const what = this.o.argv[0]!;
      child.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: `cannot run ${what}: ${err.code ?? err.message}` }));
      if (child.pid !== undefined) {
        const st = readStat(child.pid);
        hooks.onSpawn?.({ pid: child.pid, starttime: st?.starttime ?? 0, marker });
      }
      child.stderr!.on('data', (d: Buffer) => {
        if (stderr.length < 4096) stderr += d.toString();
      });
      // A script that exits without reading its stdin is fine; EPIPE is not a failure.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(JSON.stringify(n) + '\n');
      const timer = setTimeout(() => {
        timedOut = true;
        if (child.pid === undefined) return;
        void terminateRound({ pgid: child.pid, marker }, this.o.killGraceMs ?? 1000).then(() =>
          done({ ok: false, error: `${what} timed out after ${this.o.timeoutMs / 1000}s; its process tree was killed` }),
        );
      }, this.o.timeoutMs);
      // 'exit', not 'close': a background child holding stderr must not hold the attempt open.
      child.on('exit', (code, signal) => {
        if (timedOut) return;
        if (code === 0) return done({ ok: true });
        const last = stderr.trim().split('\n').at(-1)?.slice(0, 300);
        done({ ok: false, error: `${what} ${signal ? `was killed by ${signal}` : `exited with ${code}`}${last ? `: ${last}` : ''}` });
      });
    });
  }
}
