import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { CLI_ENTRY } from '../cli/paths.js';
import type { Config } from '../config/load.js';
import { cursorAtEnd, eventLinesBackward, kindOf, parseRecord, readSince, type Cursor, type EventRecord } from '../events/reader.js';
import { liveLogMtimeMs, readProjectHistory, type HistoryRead } from '../history/read.js';
import type { HistoryState } from '../history/scan.js';
import { readLocalMonitorState } from '../monitor/state-file.js';
import { buildProjectState, type ProjectState } from '../peek/state.js';
import { startService, stopService } from '../service/lifecycle.js';
import { resumeProject } from '../service/resume.js';
import { findRoundLog, readLogPage, type LogPage } from './round-log.js';
import type { DashboardProject, ProjectAction, ProjectChanges, ProjectSource } from './source.js';
import { ALERT_KINDS, cardKey, decideCard, decidePage, type CardAlert, type ProjectCard, type ProjectPage } from './views.js';

/** Rounds on the project page's timeline. */
export const PAGE_ROUNDS = 200;
/** Newest events on the project page (its live tail starts from these). */
const PAGE_EVENTS = 100;
/** How far back those are looked for. */
const PAGE_EVENTS_BYTES = 1024 * 1024;
/** How far back the project page reads the events at most, whatever the history's length. */
const PAGE_BUDGET_BYTES = 8 * 1024 * 1024;
/** Alert transitions on the project page, and how far back they are looked for. */
const PAGE_ALERTS = 30;
const ALERT_BUDGET_BYTES = 2 * 1024 * 1024;
/** Appended events read per live tick at most; a larger burst is skipped to its end. */
const LIVE_MAX_BYTES = 1024 * 1024;

/** A project id that stays the same across restarts: its host and config path, hashed. */
export function projectId(host: string, configPath: string): string {
  return createHash('sha256').update(`${host}\n${configPath}`).digest('hex').slice(0, 12);
}

/** A project on this host, read from its own files through the history model and peek's document. */
export class LocalProject implements DashboardProject {
  readonly id: string;
  readonly host: string;
  readonly name: string;
  readonly remote = false;
  private since: HistoryState | undefined;
  /** The project page's own fold (it keeps 200 rounds, the card's 10), advanced like the card's. */
  private pageSince: HistoryState | undefined;
  private cursor: Cursor | undefined;
  private lastCardKey: string | undefined;
  /** The newest alert transitions and where the events were read up to: a page load reads only what came since. */
  private alertsRead: { cursor: Cursor; list: EventRecord[] } | undefined;

  constructor(
    readonly cfg: Config,
    host = hostname(),
  ) {
    this.host = host;
    this.id = projectId(host, cfg.path);
    this.name = cfg.project;
  }

  card(now = Date.now()): ProjectCard {
    const read = readProjectHistory(this.cfg, { ...(this.since ? { since: this.since } : {}), now });
    this.since = read.state;
    return this.cardOf(read, now);
  }

  page(now = Date.now()): ProjectPage {
    // Derived from the end once, then advanced with what was appended: a page load on a long
    // history does not read its last 200 rounds again.
    const read = readProjectHistory(this.cfg, { rounds: PAGE_ROUNDS, budgetBytes: PAGE_BUDGET_BYTES, now, ...(this.pageSince ? { since: this.pageSince } : {}) });
    this.pageSince = read.state;
    return decidePage(this.cardOf(read, now), read.history, this.newestEvents(read.state.cursor), this.alertTransitions());
  }

  /** The newest events as stored, up to `cursor` (where the page's fold stands), oldest first. */
  private newestEvents(cursor: Cursor): EventRecord[] {
    const out: EventRecord[] = [];
    for (const line of eventLinesBackward(this.cfg.paths.logDir, { bytes: PAGE_EVENTS_BYTES }, cursor)) {
      const rec = parseRecord(line);
      if (rec) out.push(rec);
      if (out.length >= PAGE_EVENTS) break;
    }
    return out.reverse();
  }

  document(): Promise<ProjectState> {
    return buildProjectState(this.cfg);
  }

  roundLog(n: number, offset: number | 'tail'): LogPage | undefined {
    const path = findRoundLog(this.cfg.paths.logDir, n);
    return path ? readLogPage(path, n, offset) : undefined;
  }

  changes(): ProjectChanges {
    const logDir = this.cfg.paths.logDir;
    let events: EventRecord[] = [];
    if (!this.cursor) this.cursor = cursorAtEnd(logDir);
    else {
      const r = readSince(logDir, this.cursor, LIVE_MAX_BYTES);
      this.cursor = r.pendingBytes > LIVE_MAX_BYTES ? cursorAtEnd(logDir) : r.cursor;
      events = r.lines.map((l) => parseRecord(l)).filter((e): e is EventRecord => e !== undefined);
    }
    const card = this.card();
    const key = cardKey(card);
    const changed = key !== this.lastCardKey;
    this.lastCardKey = key;
    return { card: changed ? card : null, events };
  }

  async act(action: ProjectAction): Promise<string> {
    switch (action) {
      case 'stop': {
        const r = await stopService(this.cfg);
        return !r.was_active ? `the service was not running (${r.mode})` : r.stopped ? `stopped in ${r.seconds.toFixed(1)}s (${r.mode})` : `STILL RUNNING after ${r.seconds.toFixed(1)}s (${r.mode})`;
      }
      case 'start': {
        const r = await startService(this.cfg, CLI_ENTRY);
        return r.already ? `already running (pid ${r.pid}, ${r.mode})` : `started (pid ${r.pid}, ${r.mode})`;
      }
      case 'resume': {
        const halt = resumeProject(this.cfg);
        return halt ? `cleared halt (${halt.reason}); counters and budgets reset` : 'no halt was recorded; counters and budgets reset';
      }
    }
  }

  private cardOf(read: HistoryRead, now: number): ProjectCard {
    return decideCard({ id: this.id, host: this.host, name: this.name, history: read.history, alerts: this.alerts(), liveLogMtimeMs: liveLogMtimeMs(read.history), now });
  }

  /**
   * The newest alert transitions. The first call looks back from the end (bounded: a quiet history
   * is not read whole, but that look is what a 10k-round history makes slow); later calls read only
   * the lines appended since, so a page load does not repeat the look back.
   */
  private alertTransitions(): EventRecord[] {
    const logDir = this.cfg.paths.logDir;
    if (this.alertsRead) {
      const r = readSince(logDir, this.alertsRead.cursor, LIVE_MAX_BYTES);
      if (!r.reset && r.pendingBytes <= LIVE_MAX_BYTES) {
        const list = this.alertsRead.list;
        for (const line of r.lines) {
          const rec = alertRecord(line);
          if (rec) list.push(rec);
        }
        list.splice(0, Math.max(0, list.length - PAGE_ALERTS));
        this.alertsRead.cursor = r.cursor;
        return list.slice();
      }
    }
    const cursor = cursorAtEnd(logDir);
    const list: EventRecord[] = [];
    for (const line of eventLinesBackward(logDir, { bytes: ALERT_BUDGET_BYTES }, cursor)) {
      const rec = alertRecord(line);
      if (rec) list.push(rec);
      if (list.length >= PAGE_ALERTS) break;
    }
    list.reverse();
    this.alertsRead = { cursor, list };
    return list.slice();
  }

  private alerts(): CardAlert[] {
    const s = readLocalMonitorState(this.cfg.path, this.cfg.paths.logDir).state;
    return Object.values(s?.alerts ?? {}).map((a) => ({ detector: a.detector, subject: a.subject, severity: a.severity, since: a.since, message: a.message }));
  }
}

function alertRecord(line: string): EventRecord | undefined {
  const kind = kindOf(line);
  return kind !== undefined && ALERT_KINDS.has(kind) ? parseRecord(line) : undefined;
}

/** A fixed list of this host's projects (the config in use, and any named on the command line). */
export class ConfigListSource implements ProjectSource {
  private readonly list: LocalProject[];
  constructor(configs: Config[]) {
    this.list = configs.map((c) => new LocalProject(c));
  }
  projects(): DashboardProject[] {
    return this.list;
  }
}
