import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { RunnerError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { userStateDir } from '../state/user-state.js';
import { createFileExclusive } from '../util/atomic-write.js';

/**
 * Who may read the dashboard and act through it. On a loopback address only this machine's users
 * can connect, so no token is asked (the Host header is checked, so a web page cannot reach the
 * dashboard through DNS rebinding). On any other address every request needs the token: a bearer
 * header, or the cookie a one-time login URL sets.
 */
export const COOKIE = 'agent_runner_dashboard';
const LOGIN_TTL_MS = 10 * 60_000;

export function tokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(userStateDir(env), 'dashboard-token');
}

/** 127.0.0.0/8, ::1 and localhost; an empty host (every interface) is not loopback. */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * The dashboard's token: generated on first use (0600, in a 0700 directory), refused when others
 * can read it or it is empty, since anyone who has it can see every project (and act, with
 * --allow-actions).
 */
export function loadOrCreateToken(env: NodeJS.ProcessEnv = process.env): { token: string; path: string; created: boolean } {
  const path = tokenFile(env);
  const dir = userStateDir(env);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  let created = false;
  if (!existsSync(path)) {
    created = createFileExclusive(path, randomBytes(32).toString('base64url') + '\n', 0o600);
    if (created) chmodSync(path, 0o600);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) throw new RunnerError(`${path}: the dashboard token is readable by others (mode ${mode.toString(8).padStart(4, '0')}); run \`chmod 600 ${path}\`, or delete it to have a new one made`, 'dashboard_token', EXIT.CONFIG);
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 16) throw new RunnerError(`${path}: the dashboard token is empty or shorter than 16 characters; delete the file to have a new one made`, 'dashboard_token', EXIT.CONFIG);
  return { token, path, created };
}

export interface AuthOptions {
  /** The address the server is bound to (undefined: every interface). */
  listenHost: string | undefined;
  /** Required when listenHost is not loopback. */
  token?: string | undefined;
}

export class DashboardAuth {
  readonly tokenRequired: boolean;
  /** Sent with every state-changing request (the page reads it from /api/session). */
  readonly csrf = randomBytes(24).toString('base64url');
  private readonly token: string | undefined;
  private readonly logins = new Map<string, number>();

  constructor(o: AuthOptions) {
    this.tokenRequired = !isLoopback(o.listenHost);
    if (this.tokenRequired && !o.token) throw new RunnerError(`the dashboard listens on ${o.listenHost ?? 'every interface'}, which is not loopback: it needs a token`, 'dashboard_token', EXIT.CONFIG);
    this.token = o.token;
  }

  /** A URL path that logs a browser in once (sets the cookie), valid for ten minutes. */
  loginPath(now = Date.now()): string {
    const code = randomBytes(24).toString('base64url');
    this.logins.set(code, now + LOGIN_TTL_MS);
    return `/login?code=${code}`;
  }

  /** Consumes a one-time login code; the cookie value to set when it was valid. */
  redeem(code: string, now = Date.now()): string | undefined {
    const until = this.logins.get(code);
    this.logins.delete(code);
    for (const [c, t] of this.logins) if (t < now) this.logins.delete(c);
    return until !== undefined && until >= now ? this.token : undefined;
  }

  /** null when the request may proceed, else why not (its HTTP status and a one-line reason). */
  check(req: IncomingMessage): { status: number; reason: string } | null {
    if (!this.tokenRequired) {
      // A page on another site that resolves its own name to 127.0.0.1 must not read the dashboard.
      const host = hostOf(req.headers.host);
      if (host !== undefined && !isLoopback(host)) return { status: 421, reason: `Host ${host} is not a loopback name; open the dashboard as http://127.0.0.1:PORT/` };
      return null;
    }
    const given = bearer(req.headers.authorization) ?? cookie(req.headers.cookie, COOKIE);
    if (given !== undefined && this.token !== undefined && same(given, this.token)) return null;
    return { status: 401, reason: 'a token is required: send `Authorization: Bearer <token>` or open the one-time login URL the dashboard printed' };
  }

  /** null when a state-changing request carries this process's CSRF token and comes from the page itself. */
  checkCsrf(req: IncomingMessage): string | null {
    const sent = req.headers['x-csrf-token'];
    if (typeof sent !== 'string' || !same(sent, this.csrf)) return 'missing or wrong X-CSRF-Token';
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let originHost: string | undefined;
      try {
        originHost = new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (originHost !== req.headers.host) return `Origin ${origin} is not this dashboard`;
    }
    return null;
  }
}

function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[^\]]*\]|[^:]+)(?::\d+)?$/.exec(header);
  return m ? m[1] : header;
}

function bearer(h: string | undefined): string | undefined {
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m ? m[1] : undefined;
}

function cookie(h: string | undefined, name: string): string | undefined {
  for (const part of (h ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
