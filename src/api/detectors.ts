import type { Config } from '../config/load.js';
import { runProbe, type ProbeResult } from '../monitor/probe.js';

/**
 * The monitor's detectors, evaluated once over the project's whole history and the host as it is
 * now: the document `agent-runner probe --json` prints (health, the firing conditions with their
 * context and auto action). It raises no alert, writes no event and stops nothing.
 */
export async function evaluateDetectors(cfg: Config, opts: { now?: number } = {}): Promise<ProbeResult> {
  return (await runProbe(cfg, undefined, opts.now)).result;
}
