/**
 * Find the 1-based line of a dotted key in TOML source, for error messages. Best effort: it
 * understands [table] headers and `key =` / `dotted.key =` lines, which covers hand-written files.
 */
export function locateKey(source: string, path: readonly string[]): number | undefined {
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  // For a key that is absent (a missing required field), the deepest table that would hold it.
  let holder: { line: number; depth: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    // Header names only: a line such as `["a", "b"],` inside a multi-line array is not a header.
    const header = /^\[\[?\s*([A-Za-z0-9_."' -]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header) {
      table = splitDotted(header[1]!);
      if (isPrefix(path, table)) return i + 1;
      if (isPrefix(table, path) && (!holder || table.length >= holder.depth)) holder = { line: i + 1, depth: table.length };
      continue;
    }
    const kv = /^([A-Za-z0-9_."' -]+?)\s*=/.exec(line);
    if (!kv) continue;
    const full = [...table, ...splitDotted(kv[1]!)];
    // The key itself, an inline table or array that holds it, or a table built from dotted keys.
    if (isPrefix(full, path) || isPrefix(path, full)) return i + 1;
  }
  return holder?.line;
}

function splitDotted(s: string): string[] {
  return s.split('.').map((p) => p.trim().replace(/^["']|["']$/g, ''));
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length <= of.length && prefix.every((p, i) => p === of[i]);
}

export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * Edit distance counting an adjacent swap as one edit (optimal string alignment): "fiels" is one
 * step from "files", the typo people actually make, not two.
 */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The line of `key` inside the `index`-th `[[name]]` table (0-based), or of that header when the key is absent. */
export function locateInArrayTable(source: string, name: string, index: number, key?: string): number | undefined {
  const lines = source.split(/\r?\n/);
  let seen = -1;
  let headerLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const header = /^\[\[?\s*([A-Za-z0-9_."' -]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
    if (header) {
      if (headerLine !== undefined) break;
      if (line.startsWith('[[') && splitDotted(header[1]!).join('.') === name && ++seen === index) headerLine = i + 1;
      continue;
    }
    if (headerLine === undefined || key === undefined) continue;
    const kv = /^([A-Za-z0-9_."' -]+?)\s*=/.exec(line);
    if (kv && splitDotted(kv[1]!)[0] === key) return i + 1;
  }
  return headerLine;
}
