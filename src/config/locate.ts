/**
 * Find the 1-based line of a dotted key in TOML source, for error messages. Best effort: it
 * understands [table] headers and `key =` / `dotted.key =` lines, which covers hand-written files.
 */
export function locateKey(source: string, path: string[]): number | undefined {
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  let tableLine: number | undefined;
  let bestTableLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header) {
      table = splitDotted(header[1]!);
      tableLine = i + 1;
      if (isPrefix(table, path) && (bestTableLine === undefined || table.length >= 1)) bestTableLine = tableLine;
      continue;
    }
    const kv = /^([A-Za-z0-9_."' -]+?)\s*=/.exec(line);
    if (!kv) continue;
    const full = [...table, ...splitDotted(kv[1]!)];
    if (isPrefix(full, path) || isPrefix(path, full)) {
      if (full.length >= path.length || isPrefix(full, path)) return i + 1;
    }
  }
  return bestTableLine ?? tableLine;
}

function splitDotted(s: string): string[] {
  return s.split('.').map((p) => p.trim().replace(/^["']|["']$/g, ''));
}

function isPrefix(prefix: string[], of: string[]): boolean {
  return prefix.length <= of.length && prefix.every((p, i) => p === of[i]);
}

export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
