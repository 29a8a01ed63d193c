import { parseListen } from '../util/listen.js';
import { DashboardAuth, isLoopback, loadOrCreateToken } from './auth.js';

export interface OpenedAuth {
  auth: DashboardAuth;
  /** The token file, when the address needs one. */
  token?: { path: string; created: boolean };
}

/** The access rule for an address: none on loopback, else the token (made on first use, refused when unsafe). */
export function authFor(listen: string, env: NodeJS.ProcessEnv = process.env): OpenedAuth {
  const { host } = parseListen(listen);
  if (isLoopback(host)) return { auth: new DashboardAuth({ listenHost: host }) };
  const t = loadOrCreateToken(env);
  return { auth: new DashboardAuth({ listenHost: host, token: t.token }), token: { path: t.path, created: t.created } };
}

/** What to open in a browser: the address bound, with a one-time login when a token is needed. */
export function dashboardUrls(listen: string, port: number, opened: OpenedAuth, machine: string): { url: string; login: string | null } {
  const { host } = parseListen(listen);
  const shown = !host || host === '0.0.0.0' || host === '::' ? machine : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}/`;
  return { url, login: opened.auth.tokenRequired ? `http://${shown}:${port}${opened.auth.loginPath()}` : null };
}
