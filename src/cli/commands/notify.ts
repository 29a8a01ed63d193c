import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { ConfigError, UsageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { testNotification } from '../../notify/messages.js';
import { notifySecretValues } from '../../notify/secrets.js';
import { openOutbox, originOf, senderFor } from '../../notify/notifier.js';
import { Redactor } from '../../util/redact.js';
import { eventsFor, globals, loadFor } from '../context.js';
import { json, out, paint } from '../output.js';
import { packageVersion } from '../paths.js';

const seconds = (flag: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 86400) throw new UsageError(`${flag} expects a number of seconds from 0 to 86400, got "${raw}"`);
  return n;
};

export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('notifications: send a test message to the [[notify]] channels, or deliver what the outbox holds');

  notify
    .command('test')
    .description('send a test notification to every channel (or one) now, once, and report each result; exit 1 if any failed')
    .option('--channel <name>', 'only this channel')
    .action(async (opts: { channel?: string }, cmd: Command) => {
      const cfg = loadFor(cmd);
      if (cfg.notify.length === 0) throw new ConfigError(cfg.path, 'notify', 'no [[notify]] tables: add a channel first (docs/notifications.md)');
      const names = cfg.notify.map((c) => c.name);
      if (opts.channel !== undefined && !names.includes(opts.channel)) throw new UsageError(`--channel: no channel named "${opts.channel}" in ${cfg.path}; it has ${names.join(', ')}`);
      const redactor = new Redactor([...Object.values(cfg.agent.env), ...notifySecretValues(cfg)]);
      const origin = originOf(cfg);
      const nowIso = new Date().toISOString();
      const results = await Promise.all(
        names
          .filter((n) => opts.channel === undefined || n === opts.channel)
          .map(async (name) => {
            const t0 = Date.now();
            const r = await senderFor(cfg, name, packageVersion()).send(testNotification(origin, name, nowIso, randomUUID()));
            const ms = Date.now() - t0;
            return r.ok ? { channel: name, ok: true, ms, detail: r.detail ?? null } : { channel: name, ok: false, ms, error: redactor.text(r.error) };
          }),
      );
      if (globals(cmd).json) json({ ok: results.every((r) => r.ok), results });
      else for (const r of results) out(r.ok ? `${paint('green', 'sent')} ${r.channel} (${r.ms} ms${r.detail ? `, ${r.detail}` : ''})` : `${paint('red', 'FAIL')} ${r.channel}: ${r.error}`);
      process.exitCode = results.every((r) => r.ok) ? EXIT.OK : EXIT.FAILURE;
    });

  notify
    .command('flush')
    .description('deliver the notifications queued in the outboxes (serve\'s in log_dir/outbox, the local monitor\'s in its state dir), retrying within --timeout; exit 1 if some remain')
    .option('--timeout <s>', 'give up waiting for back-offs after this many seconds', '30')
    .action(async (opts: { timeout: string }, cmd: Command) => {
      const timeoutS = seconds('--timeout', opts.timeout);
      const cfg = loadFor(cmd);
      const { localMonitorDir, monitorFiles } = await import('../../monitor/state-file.js');
      const monitor = monitorFiles(localMonitorDir(cfg.path));
      const outboxes = [openOutbox(cfg, eventsFor(cfg), packageVersion())];
      if (existsSync(monitor.outbox)) outboxes.push(openOutbox(cfg, eventsFor(cfg, monitor.dir), packageVersion(), monitor.outbox));
      const deadline = Date.now() + timeoutS * 1000;
      const before = outboxes.reduce((n, o) => n + o.pending().length, 0);
      const left = (await Promise.all(outboxes.map((o) => o.flush(deadline)))).reduce((a, b) => a + b, 0);
      if (globals(cmd).json) json({ ok: left === 0, queued: before, pending: left });
      else out(left === 0 ? `outbox empty (${before} queued before)` : `${left} notification(s) still queued (see the notify_retry events)`);
      process.exitCode = left === 0 ? EXIT.OK : EXIT.FAILURE;
    });
}
