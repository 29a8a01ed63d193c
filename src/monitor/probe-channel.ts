import type { LineStream, SshSession } from '../ssh/session.js';
export { PROJECTS_KIND } from './probe.js';

/**
 * One long-lived `probe --stdio` on a host, shared by every project watched there: one ssh
 * session over the host's one connection, one remote process, requests taken in turn. Lines the
 * remote pushes of its own accord (`{"push": ID, …}`: a project it watches changed) go to whoever
 * subscribed under that ID.
 */
export type ProbeRequest =
  | {
      since: string | null;
      config: string;
      /** Ask the remote to push a fresh evaluation of this project whenever it changes, under this ID. */
      watch?: string;
    }
  /** The projects registered on the host (what `ls --json` lists), answered as `{"kind": PROJECTS_KIND, …}`. */
  | { list: true }
  /** The project's daily digest, answered as `{"kind": DIGEST_KIND, …}` (a release without it answers with an evaluation). */
  | { digest: { now_ms: number; date: string }; config: string };

const PUSH_PREFIX = '{"push":';

export class ProbeChannel {
  private stream: LineStream | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly subscribers = new Map<string, (pushed: Record<string, unknown>) => void>();

  constructor(
    readonly session: SshSession,
    private readonly remoteCmd: readonly string[],
    /** The config the remote probe starts with (each request names its own). */
    private readonly defaultConfig: string,
  ) {}

  /** One request line, one answer line; a dead stream is restarted on the next request. */
  request(req: ProbeRequest, timeoutMs: number): Promise<string> {
    const run = async () => {
      if (!this.stream?.alive) {
        await this.stream?.close();
        this.stream = this.session.stream([...this.remoteCmd, 'probe', '--stdio', '--config', this.defaultConfig], (line) => this.route(line));
      }
      return this.stream.request(JSON.stringify(req), timeoutMs);
    };
    const answer = this.queue.then(run, run);
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  /** Receive what the remote pushes under `id` (the `watch` of this subscriber's requests). */
  subscribe(id: string, onPush: (pushed: Record<string, unknown>) => void): () => void {
    this.subscribers.set(id, onPush);
    return () => {
      if (this.subscribers.get(id) === onPush) this.subscribers.delete(id);
    };
  }

  private route(line: string): boolean {
    if (!line.startsWith(PUSH_PREFIX)) return false;
    let pushed: Record<string, unknown>;
    try {
      pushed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // A torn push is dropped: the next poll answers anyway.
      return true;
    }
    if (typeof pushed['push'] === 'string') this.subscribers.get(pushed['push'])?.(pushed);
    return true;
  }

  /** End the remote probe; the connection itself is the session's to close. */
  async close(): Promise<void> {
    await this.stream?.close();
    this.stream = undefined;
  }
}
