import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import type { Config } from '../config/load.js';

/**
 * When the agent CLI's stored login expires, read from the file the CLI keeps it in (Claude's
 * credentials file, Codex's auth file). Only the expiry is read out: the token itself is never
 * returned, printed or copied (anthropics/claude-code#28827, #37402: logins that expire mid-loop).
 */
export interface LoginExpiry {
  cli: 'claude' | 'codex';
  file: string;
  /** epoch ms */
  expiresAtMs: number;
  /**
   * A refresh token is stored beside it: the expiry is the access token's, which the CLI renews on
   * its next run (a claude access token lives hours), so it passing says nothing about the login.
   * Only a login that cannot renew itself is "expired" (siteboon/claudecodeui#1209: `claude auth
   * status` reports such a login as logged in). A refresh that fails still shows as the round's
   * auth failure (anthropics/claude-code#28827).
   */
  renewable: boolean;
}

/** Where the CLI keeps its login, from the environment the agent will get. */
export function loginFileFor(agent: string, env: NodeJS.ProcessEnv): { cli: LoginExpiry['cli']; file: string } | undefined {
  const home = env['HOME'] || homedir();
  if (agent === 'claude') return { cli: 'claude', file: join(env['CLAUDE_CONFIG_DIR'] || join(home, '.claude'), '.credentials.json') };
  if (agent === 'codex') return { cli: 'codex', file: join(env['CODEX_HOME'] || join(home, '.codex'), 'auth.json') };
  return undefined;
}

/** A login file's top level, its sections by name; undefined when it is not a JSON object. */
function loginDoc(text: string): Record<string, Record<string, unknown> | undefined> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof doc === 'object' && doc !== null ? (doc as Record<string, Record<string, unknown> | undefined>) : undefined;
}

/**
 * PURE: the expiry (epoch ms) in a login file's text; undefined when it has none (an API key, an
 * unknown layout). Claude: claudeAiOauth.expiresAt (ms). Codex: the `exp` claim of the access
 * token's JWT payload (seconds) — decoded in place, never kept.
 */
export function parseLoginExpiry(cli: LoginExpiry['cli'], text: string): number | undefined {
  const d = loginDoc(text);
  if (!d) return undefined;
  if (cli === 'claude') {
    const at = Number(d['claudeAiOauth']?.['expiresAt']);
    return Number.isFinite(at) && at > 0 ? (at > 1e12 ? at : at * 1000) : undefined;
  }
  const token = d['tokens']?.['access_token'];
  if (typeof token !== 'string') return undefined;
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = Number((JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp);
    return Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** PURE: whether a login file's text holds a refresh token (only its presence is looked at). */
export function hasRefreshToken(cli: LoginExpiry['cli'], text: string): boolean {
  const d = loginDoc(text);
  if (!d) return false;
  const token = cli === 'claude' ? d['claudeAiOauth']?.['refreshToken'] : d['tokens']?.['refresh_token'];
  return typeof token === 'string' && token.length > 0;
}

/** The agent's login expiry, when its CLI keeps one we can read. */
export function readLoginExpiry(cfg: Config, env: NodeJS.ProcessEnv): LoginExpiry | undefined {
  const where = loginFileFor(cfg.agent.name ?? basename(cfg.agent.command[0] ?? ''), env);
  if (!where) return undefined;
  let text: string;
  try {
    text = readFileSync(where.file, 'utf8');
  } catch {
    return undefined; // no file: an API key in the environment, or not logged in (the round will say)
  }
  const expiresAtMs = parseLoginExpiry(where.cli, text);
  return expiresAtMs === undefined ? undefined : { ...where, expiresAtMs, renewable: hasRefreshToken(where.cli, text) };
}

/** How far ahead `doctor` warns of an expiring login. */
export const LOGIN_WARN_AHEAD_MS = 24 * 3600 * 1000;
