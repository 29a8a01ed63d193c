import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../errors.js';

/** `127.0.0.1:9464`, `[::1]:9464` or `:9464` (every interface). */
export function parseListen(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen expects HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464 or :9464; port 0 picks a free one), got "${addr}"`);
  return { host: m[1] ?? (m[2] || undefined), port };
}

export interface Listening {
  /** The port actually bound: `--listen 127.0.0.1:0` picks a free one. */
  port: number;
  /** Stops accepting and drops open connections (a live stream would otherwise hold the close forever). */
  close(): Promise<void>;
}

/** Binds `server` to `--listen ADDR`; a bind failure (in use, no such address) is a usage error naming the address. */
export async function listenOn(server: Server, addr: string): Promise<Listening> {
  const { host, port } = parseListen(addr);
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
