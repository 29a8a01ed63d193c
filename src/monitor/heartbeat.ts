import type { AlertSet } from './alerts.js';

/**
 * The dead man's switch: after every cycle the monitor pings a healthchecks.io-style URL, plain
 * when the project is fine and `<url>/fail` when something critical fires or the host cannot be
 * polled. A host that dies with its monitor stops pinging, and the service outside notices.
 */
export function heartbeatUrl(base: string, alerts: AlertSet, polled: boolean): { url: string; failing: boolean } {
  const failing = !polled || Object.values(alerts).some((a) => a.severity === 'critical' || a.severity === 'unknown');
  if (!failing) return { url: base, failing };
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/fail`;
  return { url: u.toString(), failing };
}

/** One ping; the error text when it failed (never the URL: it is a secret). */
export async function ping(url: string, body: string, timeoutMs: number, userAgent: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain', 'user-agent': userAgent }, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : (e.cause?.code ?? e.message);
  }
}
