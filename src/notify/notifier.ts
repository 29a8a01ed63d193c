import { hostname } from 'node:os';
import type { Config } from '../config/load.js';
import type { EventSink } from '../events/writer.js';
import { Redactor } from '../util/redact.js';
import { CommandChannel } from './channels/command.js';
import type { ChannelSender } from './channels/types.js';
import { WebhookChannel } from './channels/webhook.js';
import type { Notification } from './kinds.js';
import type { Origin } from './messages.js';
import { Outbox, outboxDir, type OutboxChannel } from './outbox.js';
import { notifySecretValues, resolveChannelSecrets } from './secrets.js';
import { webhookUrlProblem } from '../config/load.js';

/** The sender of one configured channel; its secrets are read when it sends, not when it is built. */
export function senderFor(cfg: Config, name: string, version: string): ChannelSender {
  const ch = cfg.notify.find((c) => c.name === name)!;
  if (ch.type === 'command') {
    const secrets = () => resolveChannelSecrets(cfg, ch);
    return {
      send: (n, hooks) => {
        const s = secrets();
        if (s.problem) return Promise.resolve({ ok: false, error: s.problem });
        return new CommandChannel({ argv: ch.command!, timeoutMs: ch.timeout_s * 1000, env: s.fileEnv, cwd: cfg.paths.workDir, channel: ch.name }).send(n, hooks);
      },
    };
  }
  return new WebhookChannel({
    format: ch.format,
    chatId: ch.chat_id,
    timeoutMs: ch.timeout_s * 1000,
    userAgent: `agent-runner/${version}`,
    target: () => {
      const s = resolveChannelSecrets(cfg, ch);
      if (s.problem || !s.url) return { problem: s.problem ?? 'no URL' };
      // A URL from the environment is checked here; one in the config was checked at load.
      const bad = webhookUrlProblem(s.url);
      return bad ? { problem: `${ch.url_env ?? ch.bot_token_env}: ${bad}` } : { url: s.url };
    },
  });
}

export function originOf(cfg: Pick<Config, 'project'>): Origin {
  return { project: cfg.project, host: hostname() };
}

/** `dir`: where the outbox lives (default log_dir/outbox; a remote monitor keeps its own). */
export function openOutbox(cfg: Config, events: EventSink, version: string, dir = outboxDir(cfg.paths.logDir)): Outbox {
  const redactor = new Redactor([...Object.values(cfg.agent.env), ...notifySecretValues(cfg)]);
  const channels: OutboxChannel[] = cfg.notify.map((ch) => ({
    name: ch.name,
    min_severity: ch.min_severity,
    events: ch.events,
    sender: senderFor(cfg, ch.name, version),
    rateLimit: ch.rate_limit,
    rateWindowMs: ch.rate_window_s * 1000,
    retryForMs: ch.retry_for_s * 1000,
  }));
  return new Outbox({ dir, channels, events, redact: (s) => redactor.text(s) });
}

/**
 * The outbox working in the background of a long-running process (serve, monitor): `notify`
 * queues on disk and returns at once; delivery runs beside the round, never in its way.
 */
export class Notifier {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly outbox: Outbox,
    private readonly log: (line: string) => void,
    private readonly redactor: Redactor = new Redactor(),
  ) {}

  static open(cfg: Config, events: EventSink, version: string, log: (line: string) => void, dir?: string): Notifier {
    return new Notifier(openOutbox(cfg, events, version, dir), log, new Redactor([...Object.values(cfg.agent.env), ...notifySecretValues(cfg)]));
  }

  /** Queue and kick delivery. Never throws: a notification must not take its producer down. */
  notify(n: Notification): void {
    try {
      // An alert's message may quote a round log: secrets are masked before the text leaves the host.
      this.outbox.enqueue(this.redactor.value(n));
    } catch (err) {
      this.log(`could not queue the notification "${n.title}": ${(err as Error).message}`);
      return;
    }
    this.kick();
  }

  /** Start delivering whatever is queued (left by a previous run, too). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const r = await this.outbox.deliverDue();
          if (r.nextDueMs !== undefined && !this.closed) {
            clearTimeout(this.timer);
            this.timer = setTimeout(() => this.kick(), Math.max(50, r.nextDueMs - Date.now()));
            // A pending retry alone must not keep a finished process alive.
            this.timer.unref();
          }
        } catch (err) {
          this.log(`notification delivery failed: ${(err as Error).message}`);
        }
      } while (this.again && !this.closed);
      this.running = undefined;
    })();
  }

  /** Wait for the running pass, then deliver until nothing is pending or `ms` have passed. */
  async flush(ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    try {
      return await this.outbox.flush(deadline);
    } catch (err) {
      this.log(`notification delivery failed: ${(err as Error).message}`);
      return this.outbox.pending().length;
    }
  }
}
