/**
 * Fields upstream's files carry that change nothing here. They still load (an existing file must
 * keep working), but a setting that silently does nothing is a lie to whoever wrote it: each one
 * set in the file is named, once, at load and by `doctor`.
 */
export const INERT_FIELDS: Readonly<Record<string, string>> = {
  'runtime.disable_pre_round_hooks': 'agent-runner has no plugin hooks',
  'runtime.substrate_fingerprint_paths': 'agent-runner computes no substrate fingerprint',
  'runtime.fresh_eyes_every_n': 'agent-runner has no fresh-eyes rounds',
  'runtime.dry_run': 'upstream passed it to plugins only, and agent-runner has none',
  'runtime.narrative_file': 'only upstream\'s http page read it, and agent-runner has none',
  'phases.*.disable_pre_round_hooks': 'agent-runner has no plugin hooks',
  plugins: 'agent-runner has no plugins',
};

export interface InertField {
  /** The key path as written, e.g. `runtime.dry_run` or `phases.review.disable_pre_round_hooks`. */
  key: string;
  /** Why it does nothing. */
  why: string;
}

const isTable = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Date);

/** The inert fields a parsed TOML document sets (an empty [plugins] table sets nothing). */
export function inertFieldsOf(doc: Record<string, unknown>): InertField[] {
  const found: InertField[] = [];
  const at = (path: string[]): unknown => path.reduce<unknown>((v, k) => (isTable(v) ? v[k] : undefined), doc);
  for (const [pattern, why] of Object.entries(INERT_FIELDS)) {
    const parts = pattern.split('.');
    const star = parts.indexOf('*');
    const paths =
      star < 0
        ? [parts]
        : Object.keys((isTable(at(parts.slice(0, star))) ? at(parts.slice(0, star)) : {}) as Record<string, unknown>).map((k) => [...parts.slice(0, star), k, ...parts.slice(star + 1)]);
    for (const p of paths) {
      const v = at(p);
      if (v === undefined || (isTable(v) && Object.keys(v).length === 0)) continue;
      found.push({ key: p.join('.'), why });
    }
  }
  return found;
}
