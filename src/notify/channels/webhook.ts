import type { WebhookFormat, Notification } from '../kinds.js';
import { webhookRequest } from './webhook-body.js';
import type { ChannelSender, SendOutcome } from './types.js';

export interface WebhookChannelOptions {
  format: WebhookFormat;
  /** Resolved at send time from url / url_env / bot_token_env; a problem instead when it cannot be. */
  target: () => { url?: string | undefined; problem?: string | undefined };
  chatId?: string | undefined;
  timeoutMs: number;
  userAgent: string;
}

/** Statuses worth retrying: the receiver is overloaded, restarting, or asks us to slow down. */
const RETRYABLE = new Set([408, 425, 429]);

/**
 * HTTPS (or loopback HTTP) POST. Error text never contains the URL: a webhook URL is a secret.
 */
export class WebhookChannel implements ChannelSender {
  constructor(private readonly o: WebhookChannelOptions) {}

  async send(n: Notification): Promise<SendOutcome> {
    const t = this.o.target();
    if (!t.url) return { ok: false, error: t.problem ?? 'no URL' };
    const req = webhookRequest(this.o.format, t.url, n, this.o.chatId);
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: 'POST',
        headers: { ...req.headers, 'user-agent': this.o.userAgent },
        body: req.body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') return { ok: false, error: `no answer within ${this.o.timeoutMs / 1000}s` };
      return { ok: false, error: `POST failed: ${e.cause?.code ?? e.message}` };
    }
    // Read the body so the connection is released; keep a little of it for the error line.
    const text = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ').trim();
    if (res.ok) return { ok: true, detail: `HTTP ${res.status}` };
    const error = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
    const retryAfter = Number(res.headers.get('retry-after'));
    const permanent = res.status >= 400 && res.status < 500 && !RETRYABLE.has(res.status);
    return { ok: false, error, ...(permanent ? { permanent } : {}), ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterS: retryAfter } : {}) };
  }
}
