import type { ProjectMetrics } from '../metrics/exposition.js';
import type { AlertSet } from './alerts.js';
import type { ProbeResult } from './probe.js';

/**
 * What a fleet's targets saw last, one entry per host × project, for the surfaces one `monitor
 * --host a --host b --listen` serves beside its output lines: `/metrics` and the dashboard. Each
 * target reports after every cycle; nothing here polls or reads remote files.
 */
export interface TargetState {
  /** The ssh alias, as given to --host. */
  host: string;
  /** The project's config on the host; '' while the host's projects could not be listed. */
  remoteConfig: string;
  /** The project's name: the probe's, else the host's registry's; null before either is known. */
  project: string | null;
  /** The last poll succeeded. */
  up: boolean;
  /** The last successful poll (kept through an outage: what the host said last). */
  result: ProbeResult | null;
  /** Firing alerts, the failed-poll diagnosis among them. */
  alerts: AlertSet;
  /** When the target last reported (ISO). */
  reported_at: string;
}

export class FleetStates {
  private readonly states = new Map<string, TargetState>();

  /** A target's cycle: `result` undefined when the poll failed (its previous answer is kept). */
  report(t: { host: string; remoteConfig: string; project: string | null }, alerts: AlertSet, polled: boolean, result: ProbeResult | undefined): void {
    const key = keyOf(t);
    const prev = this.states.get(key);
    const kept = result ?? prev?.result ?? null;
    this.states.set(key, { host: t.host, remoteConfig: t.remoteConfig, project: kept?.project ?? t.project, up: polled, result: kept, alerts, reported_at: new Date().toISOString() });
  }

  /** The target stopped being watched: gone (a host's stand-in handed over to its projects), or stale (gave up). */
  ended(t: { host: string; remoteConfig: string }, gone: boolean): void {
    const key = keyOf(t);
    const s = this.states.get(key);
    if (gone) this.states.delete(key);
    else if (s) s.up = false;
  }

  get(t: { host: string; remoteConfig: string }): TargetState | undefined {
    return this.states.get(keyOf(t));
  }

  list(): TargetState[] {
    return [...this.states.values()].sort((a, b) => a.host.localeCompare(b.host) || (a.project ?? '').localeCompare(b.project ?? '') || a.remoteConfig.localeCompare(b.remoteConfig));
  }

  /** The exposition's view: what the probe says; counters stay on the host (its own `agent-runner metrics`). */
  metrics(): ProjectMetrics[] {
    return this.list().map((s) => {
      const r = s.result;
      const secs = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : null);
      return {
        project: s.project ?? '',
        host: s.host,
        up: s.up,
        // Unknown while the host cannot be polled: the last answer may no longer hold.
        halted: s.up && r ? r.halt !== null : null,
        alerts: Object.values(s.alerts).filter((a) => a.severity !== 'unknown').map((a) => ({ detector: a.detector, severity: a.severity })),
        last_supervisor_event_s: secs(r?.last_supervisor_event?.ts),
        last_round_end_s: secs(r?.history?.last_round?.ended_at),
      };
    });
  }
}

const keyOf = (t: { host: string; remoteConfig: string }) => `${t.host}\n${t.remoteConfig}`;
