/**
 * PURE: a round log's lines as a reader wants them. An agent's stream-json (claude
 * `--output-format stream-json`, and the similar shapes of gemini and codex) becomes assistant
 * text, tool calls and their results, and the final result; any other line is shown as it is.
 */

export type LogEntry =
  | { kind: 'text'; text: string }
  | { kind: 'assistant'; text: string }
  | { kind: 'tool_use'; name: string; input: string }
  | { kind: 'tool_result'; text: string; is_error: boolean }
  | { kind: 'result'; text: string; is_error: boolean; cost_usd: number | null; turns: number | null }
  | { kind: 'system'; text: string }
  | { kind: 'json'; type: string; text: string };

/** Long tool inputs and results are cut here: the page shows the gist, the raw log has the rest. */
const MAX_FIELD = 4000;

const cut = (s: string): string => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}… (${s.length - MAX_FIELD} more characters)` : s);

export function decideLogEntries(line: string): LogEntry[] {
  if (line.charCodeAt(0) !== 123 /* { */) return [{ kind: 'text', text: line }];
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return [{ kind: 'text', text: line }];
  }
  if (!isObject(obj)) return [{ kind: 'text', text: line }];
  const type = typeof obj['type'] === 'string' ? obj['type'] : '';
  switch (type) {
    case 'system':
      return [{ kind: 'system', text: [obj['subtype'], typeof obj['model'] === 'string' ? `model ${obj['model']}` : undefined].filter((x) => typeof x === 'string').join(' · ') || 'system' }];
    case 'assistant':
    case 'user':
    case 'message':
      return contentEntries(obj);
    case 'result':
      return [
        {
          kind: 'result',
          text: typeof obj['result'] === 'string' ? cut(obj['result']) : String(obj['subtype'] ?? ''),
          is_error: obj['is_error'] === true,
          cost_usd: typeof obj['total_cost_usd'] === 'number' ? obj['total_cost_usd'] : null,
          turns: typeof obj['num_turns'] === 'number' ? obj['num_turns'] : null,
        },
      ];
    case 'tool_use':
    case 'tool_call':
      return [{ kind: 'tool_use', name: String(obj['name'] ?? obj['tool'] ?? 'tool'), input: cut(JSON.stringify(obj['input'] ?? obj['arguments'] ?? {})) }];
    default:
      return [{ kind: 'json', type: type || 'json', text: cut(line) }];
  }
}

function contentEntries(obj: Record<string, unknown>): LogEntry[] {
  const message = isObject(obj['message']) ? obj['message'] : obj;
  const content = message['content'];
  if (typeof content === 'string') return [{ kind: obj['type'] === 'user' ? 'text' : 'assistant', text: cut(content) }];
  if (!Array.isArray(content)) return [{ kind: 'json', type: String(obj['type']), text: cut(JSON.stringify(obj)) }];
  const out: LogEntry[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part['type'] === 'text' && typeof part['text'] === 'string') out.push({ kind: obj['type'] === 'user' ? 'text' : 'assistant', text: cut(part['text']) });
    else if (part['type'] === 'tool_use') out.push({ kind: 'tool_use', name: String(part['name'] ?? 'tool'), input: cut(JSON.stringify(part['input'] ?? {})) });
    else if (part['type'] === 'tool_result') out.push({ kind: 'tool_result', text: cut(resultText(part['content'])), is_error: part['is_error'] === true });
    else if (part['type'] === 'thinking' && typeof part['thinking'] === 'string') out.push({ kind: 'system', text: cut(`thinking: ${part['thinking']}`) });
  }
  return out;
}

function resultText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => (isObject(p) && typeof p['text'] === 'string' ? p['text'] : JSON.stringify(p))).join('\n');
  return c === undefined ? '' : JSON.stringify(c);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
