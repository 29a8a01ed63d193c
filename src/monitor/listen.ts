import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../errors.js';
import { CONTENT_TYPE, negotiate, renderExposition, type ProjectMetrics } from '../metrics/exposition.js';

/** `127.0.0.1:9464`, `[::1]:9464` or `:9464` (every interface). */
export function parseListen(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen expects HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464 or :9464; port 0 picks a free one), got "${addr}"`);
  return { host: m[1] ?? (m[2] || undefined), port };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/metrics` (OpenMetrics when the scraper asks for it, else the Prometheus text format) and
 * `/healthz` (200 while the last poll succeeded, 503 otherwise); `mounted` (the dashboard) answers
 * the paths it owns first.
 */
export async function startMetricsServer(addr: string, snapshot: () => ProjectMetrics[], mounted?: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<MetricsServer> {
  const { host, port } = parseListen(addr);
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
      const up = snapshot().every((p) => p.up);
      return void res.writeHead(up ? 200 : 503, { 'content-type': 'text/plain' }).end(up ? 'ok\n' : 'unknown: the last poll failed\n');
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('agent-runner serves /metrics and /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new UsageError(`--listen ${addr}: ${err.code ?? err.message}`)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
