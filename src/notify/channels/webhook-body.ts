/**
 * PURE: the request a webhook channel sends, for each built-in format. Text formats get one
 * readable message; `json` gets the notification as it is (what a command channel reads on stdin).
 */
import type { Notification, NotifySeverity, WebhookFormat } from '../kinds.js';

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

const MARK: Record<NotifySeverity, string> = { info: 'ℹ️', warning: '⚠️', critical: '🚨' };

/** The message as a human reads it: title, message, fix hint, and a folded burst's titles. */
export function plainText(n: Notification, bold: (s: string) => string = (s) => s, withTitle = true): string {
  const lines = withTitle ? [`${MARK[n.severity]} ${bold(n.title)}`] : [];
  if (n.message && n.message !== n.title) lines.push(n.message);
  if (n.hint) lines.push(`Fix: ${n.hint}`);
  for (const item of n.items ?? []) lines.push(`• ${item.title}`);
  lines.push(`(${n.project} on ${n.host}, ${n.ts})`);
  return lines.join('\n');
}

const NTFY_PRIORITY: Record<NotifySeverity, number> = { info: 3, warning: 4, critical: 5 };

export function webhookRequest(format: WebhookFormat, url: string, n: Notification, chatId?: string): WebhookRequest {
  const headers = { 'content-type': 'application/json', 'idempotency-key': n.key };
  switch (format) {
    case 'json':
      return { url, headers, body: JSON.stringify(n) };
    case 'slack':
    case 'mattermost':
      return { url, headers, body: JSON.stringify({ text: plainText(n, (s) => `*${s}*`) }) };
    case 'discord':
      // Discord refuses content over 2000 characters.
      return { url, headers, body: JSON.stringify({ content: plainText(n, (s) => `**${s}**`).slice(0, 2000) }) };
    case 'ntfy': {
      // ntfy's JSON publishing posts to the server root with the topic in the body.
      const u = new URL(url);
      const topic = u.pathname.replace(/^\/+|\/+$/g, '');
      u.pathname = '/';
      const message = plainText(n, undefined, false);
      return { url: u.toString(), headers, body: JSON.stringify({ topic, title: n.title, message, priority: NTFY_PRIORITY[n.severity], tags: [n.severity, n.kind] }) };
    }
    case 'telegram':
      // Telegram's limit is 4096 characters.
      return { url, headers, body: JSON.stringify({ chat_id: chatId, text: plainText(n).slice(0, 4096), disable_web_page_preview: true }) };
  }
}
