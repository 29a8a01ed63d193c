/**
 * Serialise like Python's json.dumps defaults (", " and ": " separators), so lines look exactly
 * like the ones upstream writes and `grep '"event": "agent_exit"'` pipelines keep matching.
 */
export function toJsonLine(value: unknown): string {
  return ser(value) + '\n';
}

function ser(x: unknown): string {
  if (x === null || x === undefined) return 'null';
  if (typeof x === 'number') return Number.isFinite(x) ? String(x) : 'null';
  if (typeof x === 'boolean') return x ? 'true' : 'false';
  if (typeof x === 'string') return JSON.stringify(x);
  if (Array.isArray(x)) return '[' + x.map(ser).join(', ') + ']';
  if (typeof x === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(x)) if (v !== undefined) parts.push(JSON.stringify(k) + ': ' + ser(v));
    return '{' + parts.join(', ') + '}';
  }
  return JSON.stringify(String(x));
}
