import { resolve } from 'node:path';
import { DEFAULT_CONFIG_NAME, describeInert, loadConfig, type Config } from '../config/load.js';
import { eventsFor } from '../events/open.js';
import type { VerbContext } from './options.js';
import { err } from './output.js';

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

/** --config and --json may stand before or after the verb. */
export function globals(cmd: VerbContext): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

export function configPath(cmd: VerbContext): string {
  return resolve(globals(cmd).config ?? DEFAULT_CONFIG_NAME);
}

/** Load the config; fields that have no effect are named on stderr (doctor lists them itself). */
export function loadFor(cmd: VerbContext, opts: { warnInert?: boolean } = {}): Config {
  const cfg = loadConfig(configPath(cmd));
  if (opts.warnInert ?? true) for (const f of cfg.inert) err(`warning: ${describeInert(cfg, f)}; remove it`);
  return cfg;
}

export { eventsFor };
