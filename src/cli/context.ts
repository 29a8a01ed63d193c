import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG_NAME, loadConfig, type Config } from '../config/load.js';
import { EventWriter } from '../events/writer.js';
import { Redactor } from '../util/redact.js';

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

/** --config and --json may stand before or after the verb. */
export function globals(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

export function configPath(cmd: Command): string {
  return resolve(globals(cmd).config ?? DEFAULT_CONFIG_NAME);
}

export function loadFor(cmd: Command): Config {
  return loadConfig(configPath(cmd));
}

export function eventsFor(cfg: Config): EventWriter {
  return new EventWriter(cfg.paths.logDir, new Redactor(Object.values(cfg.agent.env)));
}
