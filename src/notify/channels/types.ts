import type { Notification } from '../kinds.js';

/** The result of one delivery attempt: failures are data, never exceptions. */
export type SendOutcome =
  | { ok: true; detail?: string }
  | {
      ok: false;
      error: string;
      /** A failure no retry can fix (e.g. HTTP 400/404): the notification is given up at once. */
      permanent?: boolean;
      /** The receiver asked to wait this long (HTTP Retry-After). */
      retryAfterS?: number;
    };

/** A process an attempt started, recorded so a supervisor restarted after a crash can kill it. */
export interface AttemptProcess {
  pid: number;
  starttime: number;
  /** `NAME=value` carried by every process of the attempt (found even after a setsid). */
  marker: string;
}

export interface SendHooks {
  /** Called as soon as a command channel's process exists. */
  onSpawn?(p: AttemptProcess): void;
}

export interface ChannelSender {
  send(n: Notification, hooks?: SendHooks): Promise<SendOutcome>;
}
