import type { Config } from '../config/load.js';
import { notifySecretValues } from '../notify/secrets.js';
import { Redactor } from '../util/redact.js';
import { EventWriter } from './writer.js';

/** The project's events file, with the values of [agent.env] and the notification secrets redacted from every line. */
export function eventsFor(cfg: Config): EventWriter {
  return new EventWriter(cfg.paths.logDir, new Redactor([...Object.values(cfg.agent.env), ...notifySecretValues(cfg)]));
}
