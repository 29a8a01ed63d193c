import type { EventRecord } from '../events/payloads.js';
import type { ProjectState } from '../peek/state.js';
import type { LogPage } from './round-log.js';
import type { ProjectCard, ProjectPage } from './views.js';

/**
 * Where the dashboard's projects come from. A source lists what it watches; each project answers
 * for itself. This host's projects are read from their files (local-source.ts); a source for the
 * hosts a monitor watches over SSH answers the same questions from the remote probe.
 */
export interface ProjectSource {
  /** Every project this source watches now (the list may change between calls). */
  projects(): DashboardProject[];
}

export type ProjectAction = 'stop' | 'start' | 'resume';

export interface ProjectChanges {
  /** The card, when it differs from the one returned last time. */
  card: ProjectCard | null;
  /** Events appended since the last call, oldest first. */
  events: EventRecord[];
}

export interface DashboardProject {
  /** Stable across restarts: derived from the host and the project's config path. */
  readonly id: string;
  readonly host: string;
  readonly name: string;
  /** Watched over ssh by a fleet monitor: only what its probe reports is here (no peek document, no events, no round logs). */
  readonly remote: boolean;
  card(): ProjectCard;
  page(): ProjectPage;
  /** The same document as `peek --json`; undefined for a remote project (it is not fetched over ssh). */
  document(): Promise<ProjectState | undefined>;
  /** undefined when the round kept no log. */
  roundLog(n: number, offset: number | 'tail'): LogPage | undefined;
  /** What changed since the previous call (the first call sets the starting point and returns the card). */
  changes(): ProjectChanges;
  /** A lifecycle action; the returned line says what happened. */
  act(action: ProjectAction): Promise<string>;
}
