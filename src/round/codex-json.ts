/**
 * PURE: codex's `exec --json` events (openai/codex docs/exec.md), and the error messages every
 * CLI's own `error` events carry. Classified by structure first (an error type or code, an HTTP or
 * RPC status, a reset field), by the sentence only as a fallback: the wording changes between
 * releases (see docs/round.md, "How a round is judged").
 */
import type { StreamState, TransientSignal } from './stream-json.js';
import { parseResetFromText, setSignal } from './stream-json.js';
import { toolTarget } from './repetition.js';

const CODEX_EVENTS = new Set(['thread.started', 'turn.started', 'turn.completed', 'turn.failed', 'item.started', 'item.updated', 'item.completed']);

/** Item types that are the agent acting on the world (a tool call, in claude's terms). */
const CODEX_TOOL_ITEMS = new Set(['command_execution', 'file_change', 'mcp_tool_call', 'web_search']);

/** "Reconnecting... 2/5": codex retrying its stream by itself (openai/codex#32984), not a failure. */
const RECONNECTING = /^\s*Reconnecting\.{3}\s*\d+\s*\/\s*\d+/i;

export function isCodexEvent(type: string): boolean {
  return CODEX_EVENTS.has(type);
}

export function feedCodexEvent(state: StreamState, type: string, obj: Record<string, unknown>, line: string, nowMs: number): void {
  switch (type) {
    case 'item.completed': {
      const item = obj['item'] as Record<string, unknown> | undefined;
      const kind = typeof item?.['type'] === 'string' ? item['type'] : '';
      if (item && CODEX_TOOL_ITEMS.has(kind)) noteCodexTool(state, kind, item);
      break;
    }
    case 'turn.completed': {
      state.resultSeen = true;
      state.resultIsError = false;
      const u = obj['usage'] as Record<string, unknown> | undefined;
      if (u && typeof u === 'object') {
        const n = (k: string) => (typeof u[k] === 'number' ? (u[k] as number) : 0);
        state.usage = { input_tokens: n('input_tokens'), output_tokens: n('output_tokens'), cached_tokens: n('cached_input_tokens'), cache_creation_tokens: 0 };
      }
      break;
    }
    case 'turn.failed': {
      // The authoritative failure (plasma-ai/fractal PR #18); the `error` event before it often
      // carries the more specific message, which setSignal keeps when it knew the reset.
      state.resultSeen = true;
      state.resultIsError = true;
      state.failureLine = line.slice(0, 300);
      const err = (obj['error'] ?? {}) as Record<string, unknown>;
      const message = typeof err['message'] === 'string' ? err['message'] : '';
      state.resultText = message.slice(0, 2000);
      const signal = classifyErrorMessage(message, err, nowMs);
      if (signal) setSignal(state, { ...signal, raw: line.slice(0, 200) });
      break;
    }
  }
}

/** A retry notice in an `error` event: the CLI carries on by itself. */
export function isTransientRetry(message: string): boolean {
  return RECONNECTING.test(message);
}

function noteCodexTool(state: StreamState, kind: string, item: Record<string, unknown>): void {
  state.toolCalls++;
  const changes = Array.isArray(item['changes']) ? (item['changes'] as Array<Record<string, unknown>>) : [];
  const target = kind === 'file_change' ? String(changes[0]?.['path'] ?? '') : typeof item['command'] === 'string' ? item['command'] : toolTarget(item);
  state.repetition.note(kind === 'mcp_tool_call' && typeof item['tool'] === 'string' ? item['tool'] : kind, target.slice(0, 200));
}

/** Error types and codes, as the providers' APIs name them. */
const LIMIT_CODES = /^(usage_limit_reached|rate_limit_exceeded|rate_limit_error|rate_limit|insufficient_quota|quota_exceeded|resource_exhausted|too_many_requests)$/i;
const CONTENTION_CODES = /^(refresh_token_reused)$/i;
const AUTH_CODES = /^(invalid_api_key|authentication_error|authentication_failed|unauthenticated|permission_denied|token_expired|refresh_token_expired|refresh_token_invalidated|invalid_grant)$/i;
const NETWORK_CODES = /^(overloaded_error|overloaded|server_error|internal_server_error|unavailable|service_unavailable|deadline_exceeded|api_connection_error|stream_error)$/i;

/** The sentence forms, only when no structure says it (wording drifts: keep these short and generic). */
const CONTENTION_TEXT = /refresh[ _]token (was )?already (been )?used|refresh_token_reused/i;
const LIMIT_TEXT = /(usage limit|hit your limit|rate limit|quota exceeded|exceeded your current quota|resource[ _]exhausted|too many requests)/i;
const AUTH_TEXT = /(not logged in|please run \/login|log ?in again|sign in again|invalid api key|oauth token (has )?expired|token (has )?expired|unauthorized|authentication (failed|error))/i;
const NETWORK_TEXT = /(stream disconnected|econnrefused|econnreset|etimedout|enotfound|connection (refused|reset|error)|network (error|unreachable)|socket hang up|overloaded|fetch failed|error sending request|service unavailable)/i;

/**
 * Classifies an agent CLI's own error message (codex `error`/`turn.failed`, gemini `error`, an
 * error result's error object): codes and statuses in the object or in JSON embedded in the
 * message first, then the sentence. A Reconnecting notice is not a failure.
 */
export function classifyErrorMessage(message: string, obj: Record<string, unknown>, nowMs: number): Omit<TransientSignal, 'raw'> | undefined {
  if (isTransientRetry(message)) return undefined;
  const fields = [obj, ...embeddedObjects(message)];
  const codes: string[] = [];
  let status: number | undefined;
  let reset: number | undefined;
  for (const f of fields) {
    for (const k of ['type', 'code', 'status', 'error_type', 'reason']) {
      const val = f[k];
      if (typeof val === 'string') codes.push(val);
      if (typeof val === 'number' && val >= 400 && val < 600) status ??= val;
    }
    const resetsAt = Number(f['resets_at']);
    const resetsIn = Number(f['resets_in_seconds']);
    if (f['resets_at'] != null && Number.isFinite(resetsAt) && resetsAt > 0) reset ??= resetsAt > 1e12 ? Math.round(resetsAt / 1000) : Math.round(resetsAt);
    else if (f['resets_in_seconds'] != null && Number.isFinite(resetsIn) && resetsIn >= 0) reset ??= Math.round(nowMs / 1000 + resetsIn);
  }
  const limited = (r: number | undefined) => ({ classification: 'usage_limit' as const, ...(r ? { reset_at_epoch: r } : {}) });
  if (codes.some((c) => CONTENTION_CODES.test(c))) return { classification: 'auth_contention' };
  if (codes.some((c) => LIMIT_CODES.test(c)) || status === 429) return limited(reset ?? parseResetFromText(message, nowMs));
  if (codes.some((c) => AUTH_CODES.test(c)) || status === 401 || status === 403) return { classification: 'auth_failure' };
  if (codes.some((c) => NETWORK_CODES.test(c)) || (status !== undefined && status >= 500)) return { classification: 'network' };
  if (reset !== undefined) return limited(reset);
  if (CONTENTION_TEXT.test(message)) return { classification: 'auth_contention' };
  if (LIMIT_TEXT.test(message)) return limited(parseResetFromText(message, nowMs));
  if (AUTH_TEXT.test(message)) return { classification: 'auth_failure' };
  if (NETWORK_TEXT.test(message)) return { classification: 'network' };
  return undefined;
}

/** JSON objects inside a message (`… {"error":{"type":"usage_limit_reached",…}}`), flattened one level. */
function embeddedObjects(message: string): Array<Record<string, unknown>> {
  const start = message.indexOf('{');
  if (start < 0) return [];
  try {
    const parsed = JSON.parse(message.slice(start, message.lastIndexOf('}') + 1)) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return [];
    const top = parsed as Record<string, unknown>;
    const inner = top['error'];
    return inner && typeof inner === 'object' ? [top, inner as Record<string, unknown>] : [top];
  } catch {
    return [];
  }
}
