import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonFile } from '../state/json-file.js';
import { userStateDir } from '../state/user-state.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';

/**
 * The per-user project registry: every project agent-runner ran on this host, so `ls` (and a
 * monitor over SSH) can find them all. One small file per project, named by a hash of its config
 * path, so parallel writers (rounds of different projects starting at once) never rewrite each
 * other's records, and a torn or foreign file costs one entry, never the registry.
 */
export interface RegistryEntry {
  v: 1;
  /** runtime.project, else the work directory's basename. */
  name: string;
  /** The project's work directory. */
  path: string;
  /** Absolute path of its config file: what identifies the project. */
  config: string;
  first_seen: string;
  last_seen: string;
  /** The verb that recorded it last (init, round, serve, start, install). */
  last_verb: string;
}

/** A file in the registry that is not a readable entry. */
export interface RegistryProblem {
  file: string;
  error: string;
}

export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(userStateDir(env), 'projects');
}

/** The entry's file: a hash of the config path, so any path (spaces, unicode, length) makes a safe name. */
export function entryFile(config: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(registryDir(env), `${createHash('sha256').update(config).digest('hex').slice(0, 24)}.json`);
}

/** Record (or refresh) a project; throws on a write error, which callers turn into a warning. */
export function recordProject(p: { name: string; path: string; config: string; verb: string }, env: NodeJS.ProcessEnv = process.env, now = Date.now()): RegistryEntry {
  const dir = registryDir(env);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; the registry names every project the user runs.
    chmodSync(dir, 0o700);
  }
  const file = entryFile(p.config, env);
  const before = readEntry(file);
  const entry: RegistryEntry = {
    v: 1,
    name: p.name,
    path: p.path,
    config: p.config,
    first_seen: before.entry?.config === p.config ? before.entry.first_seen : isoNow(now),
    last_seen: isoNow(now),
    last_verb: p.verb,
  };
  writeJsonAtomic(file, entry, 0o600);
  return entry;
}

/** An entry and the file it was read from. */
export interface ListedEntry {
  file: string;
  entry: RegistryEntry;
}

/** Every entry, sorted by name then path, and the files that could not be read. */
export function listProjects(env: NodeJS.ProcessEnv = process.env): { entries: ListedEntry[]; problems: RegistryProblem[] } {
  const dir = registryDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
    return { entries: [], problems: [{ file: dir, error: (err as Error).message }] };
  }
  const entries: ListedEntry[] = [];
  const problems: RegistryProblem[] = [];
  // Dot files are a writer's temp files, still being renamed into place.
  for (const n of names.filter((x) => x.endsWith('.json') && !x.startsWith('.'))) {
    const r = readEntry(join(dir, n));
    if (r.entry) entries.push({ file: join(dir, n), entry: r.entry });
    else if (r.error) problems.push({ file: join(dir, n), error: r.error });
  }
  entries.sort((a, b) => a.entry.name.localeCompare(b.entry.name) || a.entry.path.localeCompare(b.entry.path));
  return { entries, problems };
}

/** Forget an entry file (a project whose config is gone, or a file that is not an entry). */
export function forgetFile(file: string): void {
  rmSync(file, { force: true });
}

function readEntry(file: string): { entry?: RegistryEntry; error?: string } {
  const r = readJsonFile<Partial<RegistryEntry>>(file);
  if (r.kind === 'missing') return {};
  if (r.kind === 'corrupt') return { error: r.error };
  const e = r.value;
  const text = (x: unknown): x is string => typeof x === 'string' && x !== '';
  if (e.v !== 1 || !text(e.name) || !text(e.path) || !text(e.config) || !text(e.first_seen) || !text(e.last_seen)) return { error: 'not a registry entry (version 1)' };
  return { entry: { v: 1, name: e.name, path: e.path, config: e.config, first_seen: e.first_seen, last_seen: e.last_seen, last_verb: text(e.last_verb) ? e.last_verb : 'unknown' } };
}
