import type { Config } from '../config/load.js';
import { notifySecretValues } from '../notify/secrets.js';
import { Redactor } from '../util/redact.js';
import { EventWriter } from './writer.js';

/**
 * The project's events file (or, with `dir`, another writer's own, such as a monitor's), with the
 * values of [agent.env] and the notification secrets redacted from every line.
 */
export function eventsFor(cfg: Config, dir: string = cfg.paths.logDir): EventWriter {
  return new EventWriter(dir, new Redactor([...Object.values(cfg.agent.env), ...notifySecretValues(cfg)]));
}
