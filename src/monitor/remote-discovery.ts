import { remoteCommandLine } from '../ssh/args.js';
import { RemoteCommandError, TransportError, type SshSession } from '../ssh/session.js';
import { classifyRemoteFailure, RemoteFailure, type RemoteFailureInput } from './remote-diagnosis.js';
import { PROJECTS_KIND, type ProbeChannel } from './probe-channel.js';

/**
 * Which projects a host has: its own `agent-runner ls --json` (the per-user registry there,
 * docs/schemas/ls.schema.json), so `monitor --host pi` needs no path. A project whose config is
 * gone is left out; one whose config does not load is kept, so its error is reported.
 */
export interface RemoteProject {
  name: string;
  /** Absolute path of the project's config on that host. */
  config: string;
}

interface LsDocument {
  kind?: unknown;
  schema_version?: unknown;
  projects?: Array<{ name?: unknown; config?: unknown; presence?: unknown }>;
}

export interface DiscoverOptions {
  project?: string | undefined;
  timeoutMs: number;
  /**
   * The host's probe stream: asked first (`{"list": true}`), so listing and probing are one remote
   * process. A release whose probe does not list answers something else, and `ls --json` is run.
   */
  channel?: ProbeChannel | undefined;
}

export async function discoverProjects(session: SshSession, remoteCmd: readonly string[], opts: DiscoverOptions): Promise<RemoteProject[]> {
  const words = [...remoteCmd, 'ls', '--json'];
  const fail = (input: RemoteFailureInput, command = words) => new RemoteFailure(classifyRemoteFailure(input, session.host, remoteCommandLine(command)));
  const failed = (e: unknown, command = words) => {
    if (e instanceof TransportError) return fail({ exitCode: e.exitCode, stderr: e.stderr, reason: e.message }, command);
    if (e instanceof RemoteCommandError) return fail({ exitCode: e.exitCode, stderr: e.stderr }, command);
    return e;
  };
  let doc: LsDocument | undefined;
  if (opts.channel) {
    try {
      doc = listAnswer(await opts.channel.request({ list: true }, opts.timeoutMs));
    } catch (e) {
      throw failed(e, [...remoteCmd, 'probe', '--stdio']);
    }
  }
  if (!doc) {
    let r;
    try {
      r = await session.exec(words, { timeoutMs: opts.timeoutMs });
    } catch (e) {
      throw failed(e);
    }
    if (r.code !== 0) throw fail({ exitCode: r.code, stderr: r.stderr });
    try {
      doc = JSON.parse(r.stdout) as LsDocument;
    } catch {
      throw fail({ exitCode: 0, stderr: '', answer: { error: `\`ls --json\` printed something that is not JSON: ${r.stdout.slice(0, 120)}` } });
    }
  }
  if (doc.schema_version !== 1 || !Array.isArray(doc.projects))
    throw fail({ exitCode: 0, stderr: '', answer: { version: doc.schema_version ?? null, error: `the remote \`ls --json\` speaks schema version ${String(doc.schema_version)}, this agent-runner version 1` } });
  const all = doc.projects.flatMap((p) => (typeof p.name === 'string' && typeof p.config === 'string' && p.presence !== 'missing' ? [{ name: p.name, config: p.config }] : []));
  const chosen = opts.project === undefined ? all : all.filter((p) => p.name === opts.project);
  if (chosen.length === 0) {
    const why = opts.project === undefined
      ? `no project is registered on ${session.host} (\`agent-runner ls\` lists none)`
      : `no project named "${opts.project}" on ${session.host} (there: ${all.map((p) => p.name).join(', ') || 'none'})`;
    throw fail({ exitCode: 0, stderr: '', answer: { code: 'no_project', error: why } });
  }
  return chosen;
}

/** The probe's list of this host's projects; undefined when the probe answered something else (it does not list). */
function listAnswer(line: string): LsDocument | undefined {
  try {
    const doc = JSON.parse(line) as LsDocument;
    return doc.kind === PROJECTS_KIND ? doc : undefined;
  } catch {
    return undefined;
  }
}
