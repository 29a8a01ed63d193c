import { RunnerError } from '../errors.js';

/**
 * `--select a.b.0.c`: walk the document by dotted path; an all-digit segment indexes a list.
 * An unknown segment is an error naming it (exit 1), as upstream.
 */
export function selectPath(doc: unknown, path: string): unknown {
  if (path.trim() === '') throw new RunnerError('--select needs a path such as status.round_num', 'select_path', 2);
  let cur: unknown = doc;
  for (const seg of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, seg)) cur = (cur as Record<string, unknown>)[seg];
    else throw new RunnerError(`path segment '${seg}' not found in select path '${path}'`, 'select_path');
  }
  return cur;
}

/** A selected scalar prints raw (strings without quotes); anything else as JSON. */
export function formatSelected(value: unknown, asJson: boolean): string {
  if (asJson) return JSON.stringify(value, null, 2);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}
