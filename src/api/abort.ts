/**
 * The round and the loop record a stop request by its signal name (round_interrupted.signal,
 * exit 128 + N). A library caller's AbortSignal usually carries no signal name: it stands for a
 * polite stop, which is what systemd's `stop` sends, so it is recorded as SIGTERM.
 */
export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

export function stopSignalOf(reason: unknown): StopSignal {
  return reason === 'SIGINT' || reason === 'SIGHUP' ? reason : 'SIGTERM';
}

/** An AbortSignal whose reason is a signal name, following `signal`; undefined without one. */
export function namedAbort(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const ctl = new AbortController();
  if (signal.aborted) ctl.abort(stopSignalOf(signal.reason));
  else signal.addEventListener('abort', () => ctl.abort(stopSignalOf(signal.reason)), { once: true });
  return ctl.signal;
}
