import type { Condition, Snapshot } from '../types.js';

/** As far ahead as `doctor` warns (agents/credentials.ts LOGIN_WARN_AHEAD_MS). */
const WARN_AHEAD_MS = 24 * 3600 * 1000;

/**
 * The agent's stored login (Claude's credentials file, Codex's auth file) expires within 24 h, or
 * has expired: a loop would otherwise find out by failing, hours into an unattended night
 * (anthropics/claude-code#28827, #37402). Only the expiry is known here, never the token.
 */
export function credentialsExpiring(s: Snapshot): Condition[] {
  const l = s.login;
  // A stored refresh token renews the access token whose expiry this is: nothing to warn of.
  if (!l || l.renewable) return [];
  const leftMs = l.expires_at_ms - s.now;
  if (leftMs > WARN_AHEAD_MS) return [];
  const expired = leftMs <= 0;
  const at = new Date(l.expires_at_ms).toISOString();
  const hours = Math.round((leftMs / 3_600_000) * 10) / 10;
  return [
    {
      detector: 'credentials_expiring',
      subject: l.file,
      severity: expired ? 'critical' : 'warning',
      message: expired
        ? `the ${l.cli} login in ${l.file} expired at ${at}: every round will fail to authenticate, and serve halts before spending one`
        : `the ${l.cli} login in ${l.file} expires at ${at} (in ${hours} h)`,
      context: {
        cli: l.cli,
        file: l.file,
        expires_at_iso: at,
        hours_left: hours,
        expired,
        hint: `log the ${l.cli} CLI in again on this host${expired ? ', then run `agent-runner resume` if serve halted' : ''}`,
      },
      evidence_ms: s.now,
    },
  ];
}
