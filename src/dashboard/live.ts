import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardProject } from './source.js';

/** How often the projects' files are looked at while a page is open. */
const TICK_MS = 1000;
/** A comment line now and then keeps proxies (and `ssh -L`) from closing an idle stream. */
const KEEPALIVE_TICKS = 15;

/**
 * Server-Sent Events for every open page (`/api/events`): a project's card when it changes
 * (`card`), the events appended to its history (`events`), and the whole list of cards on
 * connect (`hello`). The server looks at the files once a second while any page listens and not
 * at all otherwise; the pages never poll.
 */
export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  /** Read errors already reported: a project that cannot be read is said once, not every second. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly projects: () => DashboardProject[],
    private readonly warn: (line: string) => void,
  ) {}

  attach(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    if (this.clients.size === 0) this.baseline();
    this.clients.add(res);
    req.socket.setKeepAlive(true);
    send(res, 'hello', { cards: this.projects().flatMap((p) => this.safely(p, () => [p.card()]) ?? []) });
    req.once('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref();
  }

  close(): void {
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** While nobody listened nothing was followed: start from now. */
  private baseline(): void {
    for (const p of this.projects()) this.safely(p, () => p.changes());
  }

  private tick(): void {
    for (const p of this.projects()) {
      const c = this.safely(p, () => p.changes());
      if (!c) continue;
      if (c.card) this.broadcast('card', c.card);
      if (c.events.length) this.broadcast('events', { id: p.id, events: c.events });
    }
    if (++this.ticks % KEEPALIVE_TICKS === 0) for (const res of this.clients) res.write(': keep-alive\n\n');
  }

  private broadcast(event: string, data: unknown): void {
    for (const res of this.clients) send(res, event, data);
  }

  private safely<T>(p: DashboardProject, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      const line = `dashboard: cannot read ${p.name} (${p.host}): ${(err as Error).message}`;
      if (!this.reported.has(line)) this.warn(line);
      this.reported.add(line);
      return undefined;
    }
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
