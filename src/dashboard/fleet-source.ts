import type { ProjectState } from '../peek/state.js';
import type { FleetStates, TargetState } from '../monitor/fleet-states.js';
import { projectId } from './local-source.js';
import type { LogPage } from './round-log.js';
import type { DashboardProject, ProjectChanges, ProjectSource } from './source.js';
import { cardKey, type CardState, type ProjectCard, type ProjectPage } from './views.js';

/**
 * The projects a fleet monitor (`monitor --host a --host b --listen`) watches, as its targets last
 * reported them: a card per host × project from the remote probe's answer. Nothing is fetched for
 * the dashboard: no remote events, history or round logs, so a project page says what it lacks.
 */
export class FleetSource implements ProjectSource {
  private readonly known = new Map<string, RemoteProject>();

  constructor(private readonly states: FleetStates) {}

  projects(): DashboardProject[] {
    const out: RemoteProject[] = [];
    const seen = new Set<string>();
    for (const s of this.states.list()) {
      const id = projectId(s.host, s.remoteConfig);
      seen.add(id);
      let p = this.known.get(id);
      // The project reads its target's newest report on every call; the last one seen stands in once the target is gone.
      let last = s;
      if (!p) this.known.set(id, (p = new RemoteProject(id, s.host, () => (last = this.states.get(s) ?? last))));
      out.push(p);
    }
    for (const id of this.known.keys()) if (!seen.has(id)) this.known.delete(id);
    return out;
  }
}

/** One host × project of the fleet, read from its target's last report. */
export class RemoteProject implements DashboardProject {
  readonly remote = true;
  private lastCardKey: string | undefined;

  constructor(
    readonly id: string,
    readonly host: string,
    private readonly state: () => TargetState,
  ) {}

  get name(): string {
    return nameOf(this.state());
  }

  card(now = Date.now()): ProjectCard {
    return remoteCard(this.id, this.state(), now);
  }

  page(now = Date.now()): ProjectPage {
    const s = this.state();
    const card = remoteCard(this.id, s, now);
    const cmd = s.remoteConfig ? `agent-runner peek --config ${s.remoteConfig}` : 'agent-runner ls';
    return {
      card,
      timeline: [],
      days: [],
      waits: [],
      halts: [],
      alert_events: [],
      events: [],
      limited: `remote: limited view. This monitor polls ${s.host} for the project's state, last round, halt and alerts; the rounds timeline, spend per day, events and round logs stay on ${s.host} (\`ssh ${s.host} ${cmd}\`, or \`agent-runner dashboard\` there, reached over \`ssh -L\`).`,
    };
  }

  document(): Promise<ProjectState | undefined> {
    return Promise.resolve(undefined);
  }

  roundLog(): LogPage | undefined {
    return undefined;
  }

  changes(): ProjectChanges {
    const card = this.card();
    const key = cardKey(card);
    const changed = key !== this.lastCardKey;
    this.lastCardKey = key;
    return { card: changed ? card : null, events: [] };
  }

  act(): Promise<string> {
    return Promise.reject(new Error(`actions on ${this.host}'s projects are not offered here; run them there (\`ssh ${this.host} agent-runner …\`)`));
  }
}

const nameOf = (s: TargetState) => s.project ?? `(projects of ${s.host} not listed)`;

/** PURE: the card of a fleet target from its last probe answer (kept through an outage, with the state unknown). */
export function remoteCard(id: string, s: TargetState, now: number): ProjectCard {
  const r = s.result;
  const live = r?.live_round ?? null;
  const answeredMs = r ? Date.parse(r.ts) : now;
  const elapsedNow = live ? live.elapsed_s + Math.max(0, (now - answeredMs) / 1000) : 0;
  return {
    id,
    host: s.host,
    name: nameOf(s),
    state: remoteState(s),
    live: live
      ? {
          round_num: live.round_num,
          phase: live.phase,
          started_at: new Date(answeredMs - live.elapsed_s * 1000).toISOString(),
          elapsed_s: Math.round(elapsedNow),
          timeout_s: live.timeout_s ?? null,
          seconds_since_output: typeof live.seconds_since_output === 'number' ? Math.round(live.seconds_since_output + Math.max(0, (now - answeredMs) / 1000)) : null,
          last_output_at: live.last_output_at ?? null,
          // An older remote's probe does not count them: absent, the card leaves the row out.
          ...(live.tool_calls !== undefined ? { tool_calls: live.tool_calls } : {}),
          ...(live.output_tokens !== undefined ? { output_tokens: live.output_tokens } : {}),
        }
      : null,
    last_round: r?.history?.last_round ?? null,
    halt: r?.halt ? { reason: r.halt.reason, since: r.halt.ts, message: r.halt.message, hint: r.halt.hint ?? `\`ssh ${s.host} agent-runner status\` says what to fix` } : null,
    wait: r?.history?.wait ?? null,
    alerts: Object.values(s.alerts).map((a) => ({ detector: a.detector, subject: a.subject, severity: a.severity, since: a.since, message: a.message })),
    cost_today_usd: r?.history?.cost.today_usd ?? 0,
    rounds: r?.history?.rounds ?? 0,
    generated_at: new Date(now).toISOString(),
    remote: { up: s.up, answered_at: r?.ts ?? null },
  };
}

function remoteState(s: TargetState): CardState {
  const r = s.result;
  if (!s.up || !r) return 'unknown';
  if (r.halt) return 'halted';
  if (r.live_round) return 'running';
  if (r.history?.wait) return 'waiting';
  if (r.serve.process === 'alive' || r.serve.process === 'stopped') return 'idle';
  return 'stopped';
}
