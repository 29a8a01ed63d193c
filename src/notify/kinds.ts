/**
 * PURE: what agent-runner can tell a human, and how urgent each is. A channel's `events` filter
 * names these kinds; `test` (from `notify test`) and `folded` (a rate-limited burst) pass every filter.
 */
export const NOTIFY_KINDS = ['alert_firing', 'alert_resolved', 'halt', 'usage_limit_wait', 'usage_limit_end', 'budget_exhausted', 'serve_exit', 'digest'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

export const NOTIFY_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type NotifySeverity = (typeof NOTIFY_SEVERITIES)[number];

export const WEBHOOK_FORMATS = ['json', 'slack', 'mattermost', 'discord', 'ntfy', 'telegram'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** One message to a human. The wire names are what command channels and `json` webhooks receive. */
export interface Notification {
  /** The idempotency key: the same fact always has the same key, so it is queued and sent once. */
  key: string;
  kind: NotifyKind | 'test' | 'folded';
  severity: NotifySeverity;
  /** One line, e.g. "myproj halted: crash_loop". */
  title: string;
  message: string;
  /** What to do about it, when there is something to do. */
  hint: string | null;
  project: string;
  host: string;
  /** When the fact happened (ISO 8601, UTC). */
  ts: string;
  /** Kind-specific fields (reason, exit_code, reset_at, detector …). */
  details: Record<string, unknown>;
  /** Only for kind `folded`: the notifications a rate-limited burst was folded from. */
  items?: Notification[];
}

const RANK: Record<NotifySeverity, number> = { info: 0, warning: 1, critical: 2 };

export interface ChannelFilter {
  min_severity: NotifySeverity;
  /** Unset: every kind. */
  events?: readonly NotifyKind[] | undefined;
}

/** Whether a channel wants this notification: tests always pass. */
export function wants(filter: ChannelFilter, n: Pick<Notification, 'kind' | 'severity'>): boolean {
  if (n.kind === 'test' || n.kind === 'folded') return true;
  if (filter.events && !filter.events.includes(n.kind)) return false;
  return RANK[n.severity] >= RANK[filter.min_severity];
}
