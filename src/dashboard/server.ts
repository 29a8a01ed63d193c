import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_DIR } from '../cli/paths.js';
import { listenOn, type Listening } from '../util/listen.js';
import { COOKIE, DashboardAuth } from './auth.js';
import { LiveHub } from './live.js';
import type { DashboardProject, ProjectAction, ProjectSource } from './source.js';

/** The page's files, shipped in the npm package (package.json `files`). */
export const ASSETS_DIR = join(PACKAGE_DIR, 'assets', 'dashboard');
const ASSET_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', html: 'text/html; charset=utf-8' };
const ACTIONS: readonly ProjectAction[] = ['stop', 'start', 'resume'];
/** The page loads only its own files and talks only to this server. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface DashboardOptions {
  sources: ProjectSource[];
  auth: DashboardAuth;
  /** Serve stop, start and resume (POST, with the CSRF token). */
  allowActions: boolean;
  warn: (line: string) => void;
}

export interface Dashboard {
  /** Answers the request when it is one of the dashboard's paths; false otherwise (another handler may take it). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

export function createDashboard(o: DashboardOptions): Dashboard {
  // One project named by two sources (the command line and the registry) is shown once.
  const projects = () => {
    const seen = new Set<string>();
    return o.sources.flatMap((s) => s.projects()).filter((p) => !seen.has(p.id) && Boolean(seen.add(p.id)));
  };
  const hub = new LiveHub(projects, o.warn);
  const find = (id: string): DashboardProject | undefined => projects().find((p) => p.id === id);
  const session = () => ({ host: hostname(), actions: o.allowActions, csrf: o.allowActions ? o.auth.csrf : null });
  const projectsDoc = () => ({ host: hostname(), generated_at: new Date().toISOString(), projects: projects().map((p) => p.card()) });

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname;
    if (path === '/login') {
      const value = o.auth.redeem(url.searchParams.get('code') ?? '');
      if (value === undefined) return text(res, 401, 'this login URL was used already or has expired; restart the dashboard for a new one, or send the token as a bearer header\n');
      res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': `${COOKIE}=${encodeURIComponent(value)}; HttpOnly; SameSite=Strict; Path=/` });
      return void res.end();
    }
    // Browsers ask for it on every page, the refusal pages included; it tells nothing.
    if (path === '/favicon.ico') return asset(res, 'icon.svg');
    const denied = o.auth.check(req);
    if (denied) return text(res, denied.status, denied.reason + '\n');
    if (req.method === 'POST') return act(req, res, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'the dashboard answers GET, and POST for actions\n');
    if (path === '/') return htmlPage(res, { path, session: session(), data: { projects: projectsDoc() } });
    const pm = /^\/p\/([0-9a-f]+)(\/r\/\d+)?\/?$/.exec(path);
    if (pm) {
      const p = pm[2] === undefined ? find(pm[1]!) : undefined;
      return htmlPage(res, { path, session: session(), data: p ? { page: p.page() } : {} });
    }
    if (path.startsWith('/assets/')) return asset(res, path.slice('/assets/'.length));
    if (path === '/api/session') return json(res, 200, session());
    if (path === '/api/projects') return json(res, 200, projectsDoc());
    if (path === '/api/events') return hub.attach(req, res);
    const m = /^\/api\/projects\/([0-9a-f]+)(\/page|\/rounds\/(\d+)\/log)?$/.exec(path);
    if (!m) return text(res, 404, 'not found\n');
    const p = find(m[1]!);
    if (!p) return json(res, 404, { error: { code: 'project_not_found', message: `no project ${m[1]!} here` } });
    const remote = () => json(res, 404, { error: { code: 'remote_limited', message: `${p.name} is watched on ${p.host} over ssh: only its state, last round, halt and alerts are here; run \`agent-runner peek\` there` } });
    if (m[2] === undefined) {
      const doc = await p.document();
      return doc ? json(res, 200, doc) : remote();
    }
    if (m[2] === '/page') return json(res, 200, p.page());
    if (p.remote) return remote();
    const offsetParam = url.searchParams.get('offset') ?? '0';
    const offset = offsetParam === 'tail' ? 'tail' : Number(offsetParam);
    if (offset !== 'tail' && (!Number.isSafeInteger(offset) || offset < 0)) return json(res, 400, { error: { code: 'bad_offset', message: `offset expects a byte offset ≥ 0 or "tail", got "${offsetParam}"` } });
    const page = p.roundLog(Number(m[3]), offset);
    if (!page) return json(res, 404, { error: { code: 'round_not_found', message: `round ${m[3]!} of ${p.name} kept no log` } });
    return json(res, 200, page);
  };

  const act = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const m = /^\/api\/projects\/([0-9a-f]+)\/actions\/([a-z]+)$/.exec(path);
    if (!m) return text(res, 404, 'not found\n');
    if (!o.allowActions) return json(res, 403, { error: { code: 'read_only', message: 'this dashboard is read-only; start it with --allow-actions to stop, start and resume from it' } });
    const bad = o.auth.checkCsrf(req);
    if (bad) return json(res, 403, { error: { code: 'csrf', message: bad } });
    const action = ACTIONS.find((a) => a === m[2]);
    if (!action) return json(res, 404, { error: { code: 'unknown_action', message: `actions are ${ACTIONS.join(', ')}` } });
    const p = find(m[1]!);
    if (!p) return json(res, 404, { error: { code: 'project_not_found', message: `no project ${m[1]!} here` } });
    return json(res, 200, { action, project: p.id, result: await p.act(action) });
  };

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
      const path = url.pathname;
      if (!(path === '/' || path === '/login' || path === '/favicon.ico' || path.startsWith('/p/') || path.startsWith('/assets/') || path.startsWith('/api/'))) return false;
      route(req, res, url).catch((err: unknown) => {
        o.warn(`dashboard: ${req.method} ${path}: ${(err as Error).message}`);
        if (!res.headersSent) json(res, 500, { error: { code: 'internal', message: (err as Error).message } });
        else res.end();
      });
      return true;
    },
    close: () => hub.close(),
  };
}

/**
 * The page, with the first view's data inlined (what its API call would return), so the first
 * render needs no request after the script's own: one round trip less on a slow link.
 */
function htmlPage(res: ServerResponse, boot: { path: string; session: unknown; data: unknown }): void {
  let html: string;
  try {
    html = readFileSync(join(ASSETS_DIR, 'index.html'), 'utf8');
  } catch {
    return text(res, 404, 'not found\n');
  }
  // A JSON data block is never executed (the CSP allows no inline script); `<` is escaped so no
  // text in the data can close the element.
  const data = JSON.stringify(boot).replace(/</g, '\\u003c');
  html = html.replace('<script id="boot" type="application/json">null</script>', `<script id="boot" type="application/json">${data}</script>`);
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': ASSET_TYPES['html']!, 'cache-control': 'no-store' }).end(html);
}

function asset(res: ServerResponse, name: string): void {
  const ext = /^[a-z0-9-]+\.([a-z]+)$/.exec(name)?.[1];
  const type = ext ? ASSET_TYPES[ext] : undefined;
  let body: Buffer;
  try {
    if (!type) throw new Error('not an asset');
    body = readFileSync(join(ASSETS_DIR, name));
  } catch {
    return text(res, 404, 'not found\n');
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache' }).end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

export type DashboardServer = Listening;

/** `agent-runner dashboard`: the dashboard alone on its own address. */
export async function startDashboardServer(addr: string, dashboard: Dashboard): Promise<DashboardServer> {
  const server = createServer((req, res) => {
    if (!dashboard.handle(req, res)) text(res, 404, 'not found\n');
  });
  const bound = await listenOn(server, addr);
  return {
    port: bound.port,
    close: () => {
      dashboard.close();
      return bound.close();
    },
  };
}
