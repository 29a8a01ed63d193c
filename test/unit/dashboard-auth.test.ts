import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DashboardAuth, isLoopback } from '../../src/dashboard/auth.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const TOKEN = 'a'.repeat(43);

describe('dashboard access rules', () => {
  it('loopback is 127.0.0.0/8, ::1 and localhost; every interface is not', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of [undefined, '', '0.0.0.0', '::', '192.168.1.4', 'example.com', '128.0.0.1']) expect(isLoopback(h), String(h)).toBe(false);
  });

  it('off loopback a token is required to start at all', () => {
    expect(() => new DashboardAuth({ listenHost: '0.0.0.0' })).toThrow(/not loopback: it needs a token/);
  });

  it('off loopback only the token passes, as a bearer header or the cookie', () => {
    const a = new DashboardAuth({ listenHost: '0.0.0.0', token: TOKEN });
    expect(a.check(req({}))?.status).toBe(401);
    expect(a.check(req({ authorization: `Bearer ${'b'.repeat(43)}` }))?.status).toBe(401);
    expect(a.check(req({ authorization: `Bearer ${TOKEN}` }))).toBeNull();
    expect(a.check(req({ cookie: `x=1; agent_runner_dashboard=${TOKEN}` }))).toBeNull();
  });

  it('a one-time login code works once, and not after ten minutes', () => {
    const a = new DashboardAuth({ listenHost: '0.0.0.0', token: TOKEN });
    const code = new URLSearchParams(a.loginPath(0).split('?')[1]).get('code')!;
    expect(a.redeem(code, 1000)).toBe(TOKEN);
    expect(a.redeem(code, 1000)).toBeUndefined();
    const late = new URLSearchParams(a.loginPath(0).split('?')[1]).get('code')!;
    expect(a.redeem(late, 11 * 60_000)).toBeUndefined();
  });

  it('on loopback the Host must be a loopback name, whatever the port', () => {
    const a = new DashboardAuth({ listenHost: '127.0.0.1' });
    expect(a.check(req({ host: 'localhost:9000' }))).toBeNull();
    expect(a.check(req({ host: '[::1]:8787' }))).toBeNull();
    expect(a.check(req({ host: 'rebound.example:8787' }))?.status).toBe(421);
  });

  it('an action needs the CSRF token, and an Origin of the dashboard itself when one is sent', () => {
    const a = new DashboardAuth({ listenHost: '127.0.0.1' });
    expect(a.checkCsrf(req({ host: '127.0.0.1:8787' }))).toMatch(/X-CSRF-Token/);
    expect(a.checkCsrf(req({ host: '127.0.0.1:8787', 'x-csrf-token': a.csrf }))).toBeNull();
    expect(a.checkCsrf(req({ host: '127.0.0.1:8787', 'x-csrf-token': a.csrf, origin: 'http://127.0.0.1:8787' }))).toBeNull();
    expect(a.checkCsrf(req({ host: '127.0.0.1:8787', 'x-csrf-token': a.csrf, origin: 'http://evil.example' }))).toMatch(/is not this dashboard/);
  });
});
