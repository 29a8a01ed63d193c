import type { LineStream, SshSession } from '../ssh/session.js';

/**
 * One long-lived `probe --stdio` on a host, shared by every project watched there: one ssh
 * session over the host's one connection, one remote process, requests taken in turn.
 */
export class ProbeChannel {
  private stream: LineStream | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly session: SshSession,
    private readonly remoteCmd: readonly string[],
    /** The config the remote probe starts with (each request names its own). */
    private readonly defaultConfig: string,
  ) {}

  /** One request line, one answer line; a dead stream is restarted on the next request. */
  request(req: { since: string | null; config: string }, timeoutMs: number): Promise<string> {
    const run = async () => {
      if (!this.stream?.alive) {
        await this.stream?.close();
        this.stream = this.session.stream([...this.remoteCmd, 'probe', '--stdio', '--config', this.defaultConfig]);
      }
      return this.stream.request(JSON.stringify(req), timeoutMs);
    };
    const answer = this.queue.then(run, run);
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  /** End the remote probe; the connection itself is the session's to close. */
  async close(): Promise<void> {
    await this.stream?.close();
    this.stream = undefined;
  }
}
