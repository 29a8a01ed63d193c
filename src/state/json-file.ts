import { readFileSync } from 'node:fs';

export type ReadResult<T> = { kind: 'missing' } | { kind: 'corrupt'; error: string } | { kind: 'ok'; value: T };

/** Read a JSON state file, telling "missing" from "corrupt" (a torn or garbage file is not fatal). */
export function readJsonFile<T>(path: string): ReadResult<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', error: String((err as Error).message) };
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { kind: 'corrupt', error: 'not a JSON object' };
    return { kind: 'ok', value: value as T };
  } catch (err) {
    return { kind: 'corrupt', error: (err as Error).message };
  }
}

export function readJsonOr<T>(path: string): T | undefined {
  const r = readJsonFile<T>(path);
  return r.kind === 'ok' ? r.value : undefined;
}
