import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { CONTENT_TYPE, negotiate, renderExposition, type ProjectMetrics } from '../metrics/exposition.js';
import { listenOn, type Listening } from '../util/listen.js';

export type MetricsServer = Listening;

/**
 * `/metrics` (OpenMetrics when the scraper asks for it, else the Prometheus text format) and
 * `/healthz` (200 while the last poll of every watched project succeeded, 503 otherwise);
 * `mounted` (the dashboard) answers the paths it owns first.
 */
export async function startMetricsServer(addr: string, snapshot: () => ProjectMetrics[], mounted?: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    if (mounted?.(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    if (path === '/metrics') {
      const format = negotiate(req.headers.accept);
      let body: string;
      try {
        body = renderExposition(snapshot(), format);
      } catch (err) {
        return void res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${(err as Error).message}\n`);
      }
      return void res.writeHead(200, { 'content-type': CONTENT_TYPE[format] }).end(req.method === 'HEAD' ? undefined : body);
    }
    if (path === '/healthz') {
      const down = snapshot().filter((p) => !p.up);
      const what = down.map((p) => `${p.host} ${p.project || '(projects not listed)'}`).join(', ');
      return void res.writeHead(down.length ? 503 : 200, { 'content-type': 'text/plain' }).end(down.length ? `unknown: the last poll failed for ${what}\n` : 'ok\n');
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('agent-runner serves /metrics and /healthz\n');
  });
  return listenOn(server, addr);
}
