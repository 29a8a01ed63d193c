import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expandHome, type Config } from '../config/load.js';
import type { NotifyChannelConfig } from '../config/schema.js';
import { errnoCode } from '../errors.js';

/**
 * Where a channel's secrets come from: the process environment (a systemd unit's Environment= or
 * EnvironmentFile=) and the channel's own `env_file`, whose values win. Never from the config
 * file itself when the user follows the docs, so the config can be committed.
 */
export interface ChannelSecrets {
  /** The variables a command channel gets on top of the inherited environment. */
  fileEnv: Record<string, string>;
  url?: string | undefined;
  /** Why the channel cannot send (an unreadable env_file, an unset variable). */
  problem?: string | undefined;
  /** Every value to mask wherever text about this channel is written. */
  values: string[];
}

/** `NAME=value` lines as systemd's EnvironmentFile= reads them: comments, blank lines, optional quotes. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out[m[1]!] = value;
  }
  return out;
}

export function envFilePath(cfg: Pick<Config, 'dir'>, ch: NotifyChannelConfig): string | undefined {
  return ch.env_file ? resolve(cfg.dir, expandHome(ch.env_file)) : undefined;
}

export function resolveChannelSecrets(cfg: Pick<Config, 'dir'>, ch: NotifyChannelConfig, env: NodeJS.ProcessEnv = process.env): ChannelSecrets {
  let fileEnv: Record<string, string> = {};
  let problem: string | undefined;
  const file = envFilePath(cfg, ch);
  if (file) {
    try {
      fileEnv = parseEnvFile(readFileSync(file, 'utf8'));
    } catch (err) {
      problem = `cannot read env_file ${file} (${errnoCode(err) ?? String(err)})`;
    }
  }
  const lookup = (name: string) => fileEnv[name] ?? env[name];
  let url = ch.url;
  let token: string | undefined;
  if (!problem && ch.url_env) {
    url = lookup(ch.url_env);
    if (!url) problem = `${ch.url_env} is not set (in the environment${file ? ` or ${file}` : ''})`;
  }
  if (!problem && ch.bot_token_env) {
    token = lookup(ch.bot_token_env);
    if (!token) problem = `${ch.bot_token_env} is not set (in the environment${file ? ` or ${file}` : ''})`;
    else url = `https://api.telegram.org/bot${token}/sendMessage`;
  }
  const values = [...Object.values(fileEnv), ...(ch.url_env || ch.bot_token_env ? [url, token] : [url])].filter((x): x is string => typeof x === 'string' && x.length > 0);
  return { fileEnv, url, problem, values };
}

/** Every secret the configured channels use, best effort: for the redactor of events and output. */
export function notifySecretValues(cfg: Pick<Config, 'dir' | 'notify' | 'monitor'>, env: NodeJS.ProcessEnv = process.env): string[] {
  const heartbeat = heartbeatBase(cfg, env);
  return [...cfg.notify.flatMap((ch) => resolveChannelSecrets(cfg, ch, env).values), ...(heartbeat.url ? [heartbeat.url] : [])];
}

/** monitor.heartbeat_url, or the value of monitor.heartbeat_url_env; a problem when that is unset. */
export function heartbeatBase(cfg: Pick<Config, 'monitor'>, env: NodeJS.ProcessEnv = process.env): { url?: string; problem?: string } {
  if (cfg.monitor.heartbeat_url) return { url: cfg.monitor.heartbeat_url };
  const name = cfg.monitor.heartbeat_url_env;
  if (!name) return {};
  const url = env[name];
  return url ? { url } : { problem: `${name} is not set in the environment` };
}
