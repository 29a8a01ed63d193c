import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/http-receiver.js';
import { readEvents, runCli, type EventLine, type Project, useProjects } from '../helpers/project.js';

/**
 * Webhook channels against a real HTTP server on loopback, started by each test: every body
 * format, a receiver that fails and then answers, one that is down and comes back, one that
 * refuses for good, and a burst folded into one message by the rate limit.
 */
const { project } = useProjects();
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});
const receiver = async (opts: Parameters<typeof startReceiver>[0] = {}) => {
  const r = await startReceiver(opts);
  receivers.push(r);
  return r;
};

function webhookProject(channels: string, runtime: Record<string, unknown> = {}): Project {
  const p = project({ mode: 'exit:1', runtime: { crash_loop_threshold: 1, ...runtime } });
  writeFileSync(p.config, readFileSync(p.config, 'utf8') + channels);
  return p;
}
const channel = (name: string, url: string, extra = '') => `[[notify]]\nname = "${name}"\ntype = "webhook"\nurl = "${url}"\n${extra}\n`;
const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);
const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

describe('webhook formats', () => {
  it('notify test posts each built-in format: generic JSON, Slack, Mattermost, Discord, ntfy, Telegram', async () => {
    const r = await receiver();
    const p = webhookProject(
      channel('generic', r.url('/generic')) +
        channel('slack', r.url('/slack'), 'format = "slack"') +
        channel('mm', r.url('/mm'), 'format = "mattermost"') +
        channel('discord', r.url('/discord'), 'format = "discord"') +
        channel('ntfy', r.url('/agents-topic'), 'format = "ntfy"') +
        channel('tg', r.url('/bot123:abc/sendMessage'), 'format = "telegram"\nchat_id = -1001234'),
    );
    const res = await runCli(['notify', 'test', '--config', p.config], { cwd: p.dir });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n').filter((l) => l.startsWith('sent '))).toHaveLength(6);
    const at = (path: string) => r.requests.find((q) => q.path === path)!;
    for (const q of r.requests) {
      expect(q.method).toBe('POST');
      expect(q.headers['content-type']).toBe('application/json');
      expect(q.headers['idempotency-key']).toMatch(/^test:/);
      expect(q.headers['user-agent']).toMatch(/^agent-runner\//);
    }
    expect(json(at('/generic').body)).toMatchObject({ kind: 'test', severity: 'info', project: p.project, details: { channel: 'generic' } });
    expect(json(at('/slack').body)['text']).toMatch(/\*.*test notification from agent-runner\*/);
    expect(json(at('/mm').body)['text']).toMatch(/channel "mm" works/);
    expect(json(at('/discord').body)['content']).toMatch(/\*\*.*test notification.*\*\*/);
    // ntfy's JSON publishing: the server root, with the topic in the body.
    expect(json(at('/').body)).toMatchObject({ topic: 'agents-topic', priority: 3, title: expect.stringMatching(/test notification/) });
    expect(json(at('/bot123:abc/sendMessage').body)).toMatchObject({ chat_id: '-1001234', disable_web_page_preview: true, text: expect.stringMatching(/channel "tg" works/) });
  });

  it('a URL from the environment is a secret: an error that would show it is redacted', async () => {
    const r = await receiver({ respond: () => 403 });
    const p = webhookProject(`[[notify]]\nname = "hook"\ntype = "webhook"\nurl_env = "HOOK_URL_SECRET"\n`);
    const url = r.url('/T000/B000/abcdefghijklmnop');
    const res = await runCli(['notify', 'test', '--config', p.config], { cwd: p.dir, env: { HOOK_URL_SECRET: url } });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/FAIL hook: HTTP 403/);
    expect(res.stdout + res.stderr).not.toContain('abcdefghijklmnop');
    const unset = await runCli(['notify', 'test', '--config', p.config], { cwd: p.dir, env: { HOOK_URL_SECRET: '' } });
    expect(unset.stdout).toMatch(/FAIL hook: HOOK_URL_SECRET is not set/);
  });
});

describe('webhook delivery from the outbox', () => {
  it('a receiver that answers 500 first and then 200: one retry, one delivery, the same idempotency key', async () => {
    const r = await receiver({ respond: (n) => (n === 0 ? 500 : 200) });
    const p = webhookProject(channel('hook', r.url()), { notify_flush_s: 60 });
    const res = await runCli(['serve', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
    expect(res.code).toBe(80);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[0]!.headers['idempotency-key']).toBe(r.requests[1]!.headers['idempotency-key']);
    expect(json(r.requests[1]!.body)).toMatchObject({ kind: 'halt', details: { reason: 'crash_loop' } });
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'notify_retry')).toEqual([expect.objectContaining({ channel: 'hook', attempt: 1, error: expect.stringMatching(/^HTTP 500/) })]);
    expect(ofKind(ev, 'notify_sent')).toEqual([expect.objectContaining({ channel: 'hook', attempts: 2 })]);
  });

  it('a receiver that always answers 500 gets bounded retries, then the notification is given up', async () => {
    const r = await receiver({ respond: () => 500 });
    const p = webhookProject(channel('hook', r.url(), 'retry_for_s = 4'), { notify_flush_s: 60 });
    const res = await runCli(['serve', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
    expect(res.code).toBe(80);
    const ev = readEvents(p.logDir);
    const gaveUp = ofKind(ev, 'notify_gave_up');
    expect(gaveUp).toEqual([expect.objectContaining({ channel: 'hook', permanent: false, error: expect.stringMatching(/^HTTP 500/) })]);
    // Back-off 1–2 s, 2–4 s …: within 4 s at most three attempts fit. On a loaded host one slow
    // attempt can use the whole window; that a retry happens is the first test's to show.
    expect(r.requests.length).toBeGreaterThanOrEqual(1);
    expect(r.requests.length).toBeLessThanOrEqual(3);
    expect(gaveUp[0]!['attempts']).toBe(r.requests.length);
    // Kept for inspection, never sent again.
    const again = await runCli(['notify', 'flush', '--config', p.config], { cwd: p.dir });
    expect(again.stdout).toMatch(/outbox empty \(0 queued before\)/);
    expect(r.requests.length).toBe(gaveUp[0]!['attempts']);
  });

  it('a receiver that refuses for good (404) is not retried', async () => {
    const r = await receiver({ respond: () => 404 });
    const p = webhookProject(channel('hook', r.url()), { notify_flush_s: 60 });
    await runCli(['serve', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
    expect(r.requests).toHaveLength(1);
    expect(ofKind(readEvents(p.logDir), 'notify_gave_up')).toEqual([expect.objectContaining({ attempts: 1, permanent: true })]);
  });

  it('a receiver that is down and comes back: the notification waits in the outbox, then arrives once', async () => {
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close();
    const p = webhookProject(channel('hook', `http://127.0.0.1:${port}/hook`), { notify_flush_s: 2 });
    const res = await runCli(['serve', '--config', p.config], { cwd: p.dir, timeoutMs: 90_000 });
    expect(res.code).toBe(80);
    expect(res.stderr).toMatch(/1 notification\(s\) still queued/);
    expect(ofKind(readEvents(p.logDir), 'notify_retry')[0]).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/) });
    const r = await receiver({ port });
    const flushed = await runCli(['notify', 'flush', '--config', p.config], { cwd: p.dir });
    expect(flushed.code).toBe(0);
    expect(r.requests).toHaveLength(1);
    expect(json(r.requests[0]!.body)).toMatchObject({ kind: 'halt' });
    // Neither another flush nor another serve sends it again.
    await runCli(['notify', 'flush', '--config', p.config], { cwd: p.dir });
    await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(r.requests).toHaveLength(1);
  });

  // Eleven CLI runs in a row: on a loaded two-core host each can take seconds.
  it('a burst past the rate limit is folded into one message listing every notification', { timeout: 240_000 }, async () => {
    const probe = await startReceiver();
    const port = probe.port;
    await probe.close();
    // Five halts while the receiver is down: a stop file halts serve before any round; resume clears it.
    const p = webhookProject(channel('hook', `http://127.0.0.1:${port}/hook`, 'rate_limit = 2\nrate_window_s = 3600'), { notify_flush_s: 0, stop_file: 'out/STOP' });
    writeFileSync(join(p.dir, 'out', 'STOP'), 'pause');
    for (let i = 0; i < 5; i++) {
      expect((await runCli(['serve', '--config', p.config], { cwd: p.dir })).code).toBe(84);
      expect((await runCli(['resume', '--config', p.config], { cwd: p.dir })).code).toBe(0);
    }
    const r = await receiver({ port });
    const flushed = await runCli(['notify', 'flush', '--config', p.config], { cwd: p.dir });
    expect(flushed.code).toBe(0);
    expect(r.requests).toHaveLength(1);
    const folded = json(r.requests[0]!.body) as { kind: string; items: Array<{ key: string; details: { reason: string } }> };
    expect(folded.kind).toBe('folded');
    expect(folded.items).toHaveLength(5);
    expect(new Set(folded.items.map((i) => i.key)).size).toBe(5);
    expect(folded.items.every((i) => i.details.reason === 'stop_file')).toBe(true);
    expect(ofKind(readEvents(p.logDir), 'notify_sent').map((e) => e['folded'])).toEqual([5, 5, 5, 5, 5]);
  });
});
