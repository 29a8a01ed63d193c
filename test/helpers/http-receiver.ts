import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  port: number;
  url(path?: string): string;
  requests: Received[];
  /** Which status to answer the n-th request (0-based) with; 200 unless told otherwise. */
  respond: (n: number, r: Received) => number;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback, started by the test, recording every request: a webhook
 * receiver, a healthchecks.io stand-in. `port` reuses a port (a receiver that comes back).
 */
export async function startReceiver(opts: { port?: number; respond?: (n: number, r: Received) => number } = {}): Promise<Receiver> {
  const requests: Received[] = [];
  const receiver = { requests, respond: opts.respond ?? (() => 200) } as Receiver;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      const status = receiver.respond(requests.length, r);
      requests.push(r);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'failing on purpose');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  receiver.port = port;
  receiver.url = (path = '/hook') => `http://127.0.0.1:${port}${path}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
