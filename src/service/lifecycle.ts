import type { Config } from '../config/load.js';
import { RunnerError } from '../errors.js';

export interface StopResult {
  mode: string;
  was_active: boolean;
  stopped: boolean;
  seconds: number;
  /** Processes of this project's rounds still alive after the stop (should be empty). */
  leftovers: number[];
}

/** Graceful stop of the project's serve (systemd unit or pid file), verified afterwards. */
export async function stopService(_cfg: Config, _opts: { timeoutMs?: number } = {}): Promise<StopResult> {
  throw new RunnerError('stop is not implemented yet', 'not_implemented');
}
