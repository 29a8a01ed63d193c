/**
 * Reads an agent's NDJSON output (claude `--output-format stream-json`, gemini's `stream-json`,
 * codex's `exec --json`) as it is written: the final result, usage and cost, tool calls, and
 * structured error signals. Only structured fields are trusted; text inside tool output (a file
 * the agent cat'ed that says "usage limit reached") is never read as a signal. The shapes each CLI
 * prints are kept as golden fixtures in test/fixtures/agents/ (test/unit/agent-fixtures.test.ts).
 */
import type { TransientClass } from '../events/payloads.js';
import { classifyErrorMessage, feedCodexEvent, isCodexEvent, isTransientRetry } from './codex-json.js';
import { RepetitionTracker, toolTarget, type RepetitionOptions } from './repetition.js';

export type { TransientClass };

export interface TransientSignal {
  classification: TransientClass;
  /** Epoch seconds when a usage limit resets, when the agent said so. */
  reset_at_epoch?: number;
  raw: string;
}

/** The newest `rate_limit_event` (claude), whatever its status: what quota pacing reads. */
export interface RateLimitInfo {
  status: string;
  /** Epoch seconds. */
  reset_at_epoch?: number;
  /** five_hour | seven_day | … as the agent names the window. */
  window?: string;
  /** 0..1, when the agent reports how much of the window is spent. */
  utilization?: number;
}

export interface StreamState {
  structured: boolean;
  lines: number;
  resultSeen: boolean;
  resultIsError: boolean;
  resultText?: string;
  toolCalls: number;
  costUsd?: number;
  model?: string;
  usage?: { input_tokens: number; output_tokens: number; cached_tokens: number; cache_creation_tokens: number };
  durationMs?: number;
  lastType?: string;
  transient?: TransientSignal;
  /** Retries the agent reported and carried on from (claude `api_retry`, codex "Reconnecting... n/5"). */
  retries: number;
  rateLimit?: RateLimitInfo;
  /** The line that told the failure (an error result, `turn.failed`, an `error` event): quoted when no known shape matched it. */
  failureLine?: string;
  /** Repeated (tool, target) pairs: monitor.anomaly_repetitive_window/threshold. */
  repetition: RepetitionTracker;
  /**
   * Tokens so far, from claude's assistant lines (`message.usage`): what a running round can tell,
   * since the cost comes only with the result. One message may span several lines under one id,
   * so each id counts once, with the last usage seen for it.
   */
  soFar: { inputTokens: number; outputTokens: number; usageSeen: boolean; byMessage: Map<string, { input: number; output: number }> };
}

export function newStreamState(repetition: RepetitionOptions = { window: 0, threshold: 0 }): StreamState {
  return {
    structured: false,
    lines: 0,
    resultSeen: false,
    resultIsError: false,
    toolCalls: 0,
    retries: 0,
    repetition: new RepetitionTracker(repetition),
    soFar: { inputTokens: 0, outputTokens: 0, usageSeen: false, byMessage: new Map() },
  };
}

const AUTH_TEXT = /(invalid api key|please run \/login|not logged in|oauth token (has )?expired|token (has )?expired|authentication[_ ](failed|error)|unauthorized|\b401\b|\b403\b|credit balance is too low)/i;
const LIMIT_TEXT = /(usage limit|limit reached|rate limit|hit your limit|quota exceeded|too many requests|\b429\b)/i;
const NETWORK_TEXT = /(econnrefused|econnreset|etimedout|enotfound|connection (refused|reset|error)|network (error|unreachable)|socket hang up|overloaded|\b5(00|02|03|04|29)\b|fetch failed)/i;

/** `nowMs` turns a relative reset ("resets_in_seconds", "try again in 2 hours") into an epoch. */
export function feedLine(state: StreamState, line: string, nowMs: number = Date.now()): void {
  if (line.length === 0 || line.charCodeAt(0) !== 123 /* { */) return;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  if (typeof obj !== 'object' || obj === null) return;
  state.structured = true;
  state.lines++;
  const type = typeof obj['type'] === 'string' ? (obj['type'] as string) : undefined;
  if (type) state.lastType = type;

  if (type === 'system' && typeof obj['model'] === 'string') state.model = obj['model'];
  // A retry the CLI recovers from by itself: counted, never a failure of its own.
  if (type === 'system' && obj['subtype'] === 'api_retry') state.retries++;
  if (type !== undefined && isCodexEvent(type)) return feedCodexEvent(state, type, obj, line, nowMs);
  // codex's and gemini's top-level `error` event: the CLI's own message, kept in case the round then fails.
  if (type === 'error') return noteErrorEvent(state, obj, line, nowMs);

  if (type === 'assistant' || type === 'message') {
    const msg = obj['message'] as { content?: unknown; model?: unknown; id?: unknown; usage?: unknown } | undefined;
    if (msg && typeof msg.model === 'string') state.model = msg.model;
    if (msg && typeof msg.usage === 'object' && msg.usage !== null) noteUsageSoFar(state, msg.id, msg.usage as Record<string, unknown>);
    if (Array.isArray(msg?.content)) {
      for (const c of msg.content as Array<Record<string, unknown>>) {
        if (c?.['type'] === 'tool_use') noteTool(state, c['name'], c['input']);
      }
    }
    // Newer claude versions tag failed turns: "error": "authentication_failed" | "rate_limit" | …
    const err = obj['error'];
    if (typeof err === 'string') noteErrorTag(state, err, line);
  }
  // Other agents' shapes: a tool call as a line of its own.
  if (type === 'tool_use' || type === 'tool_call') noteTool(state, obj['name'] ?? obj['tool_name'], obj['input'] ?? obj['parameters'] ?? obj['args']);

  if (type === 'rate_limit_event') {
    const info = (obj['rate_limit_info'] ?? {}) as Record<string, unknown>;
    const reset = epochSeconds(info['resetsAt']);
    if (typeof info['status'] === 'string') {
      const utilization = Number(info['utilization']);
      state.rateLimit = {
        status: info['status'],
        ...(reset ? { reset_at_epoch: reset } : {}),
        ...(typeof info['rateLimitType'] === 'string' ? { window: info['rateLimitType'] } : {}),
        ...(Number.isFinite(utilization) && info['utilization'] !== null ? { utilization } : {}),
      };
    }
    // Only `rejected` means limited now; `allowed` and `allowed_warning` arrive on healthy turns too.
    if (info['status'] === 'rejected') {
      state.transient = { classification: 'usage_limit', ...(reset ? { reset_at_epoch: reset } : {}), raw: line.slice(0, 200) };
    }
  }

  if (type === 'result') {
    state.resultSeen = true;
    if (typeof obj['result'] === 'string') state.resultText = (obj['result'] as string).slice(0, 2000);
    // An API error status marks a failed turn even under subtype "success" (an expired login's
    // 2-second "finished"), and so does the older `Claude AI usage limit reached|<epoch>` result.
    const apiStatus = Number(obj['api_error_status']);
    const isError =
      obj['is_error'] === true ||
      obj['status'] === 'error' ||
      (typeof obj['subtype'] === 'string' && (obj['subtype'] as string).startsWith('error')) ||
      apiStatus >= 400 ||
      OLD_LIMIT_RESULT.test(state.resultText ?? '');
    state.resultIsError = isError;
    const cost = obj['total_cost_usd'] ?? obj['cost_usd'];
    if (typeof cost === 'number') state.costUsd = cost;
    if (typeof obj['duration_ms'] === 'number') state.durationMs = obj['duration_ms'];
    const u = (obj['usage'] ?? obj['stats']) as Record<string, unknown> | undefined;
    if (u && typeof u === 'object') {
      const n = (k: string) => (typeof u[k] === 'number' ? (u[k] as number) : 0);
      state.usage = {
        input_tokens: n('input_tokens'),
        output_tokens: n('output_tokens'),
        cached_tokens: n('cache_read_input_tokens') || n('cached_tokens'),
        cache_creation_tokens: n('cache_creation_input_tokens'),
      };
    }
    if (isError) {
      state.failureLine = line.slice(0, 300);
      classifyResultError(state, obj, line, nowMs);
    }
  }
}

/** The older claude text form, exactly: `Claude AI usage limit reached|<epoch>`. */
const OLD_LIMIT_RESULT = /^Claude AI usage limit reached\|\d{10,13}\s*$/;

/** An epoch in seconds or milliseconds (sources disagree on resetsAt's unit): above 1e12 is ms. */
export function epochSeconds(x: unknown): number | undefined {
  const n = Number(x);
  if (x === null || x === '' || !Number.isFinite(n) || n <= 0) return undefined;
  return n > 1e12 ? Math.round(n / 1000) : Math.round(n);
}

function noteErrorEvent(state: StreamState, obj: Record<string, unknown>, line: string, nowMs: number): void {
  const message = typeof obj['message'] === 'string' ? obj['message'] : '';
  if (isTransientRetry(message)) {
    state.retries++;
    return;
  }
  state.failureLine = line.slice(0, 300);
  const signal = classifyErrorMessage(message, obj, nowMs);
  if (signal) setSignal(state, { ...signal, raw: line.slice(0, 200) });
}

function noteTool(state: StreamState, name: unknown, input: unknown): void {
  state.toolCalls++;
  state.repetition.note(typeof name === 'string' ? name : '', toolTarget(input));
}

function noteUsageSoFar(state: StreamState, id: unknown, usage: Record<string, unknown>): void {
  const n = (k: string) => (typeof usage[k] === 'number' ? (usage[k] as number) : 0);
  const now = { input: n('input_tokens'), output: n('output_tokens') };
  const s = state.soFar;
  s.usageSeen = true;
  // A line with no id cannot be matched to a repeat: it counts as a message of its own.
  const before = typeof id === 'string' ? s.byMessage.get(id) : undefined;
  if (typeof id === 'string') s.byMessage.set(id, now);
  s.inputTokens += now.input - (before?.input ?? 0);
  s.outputTokens += now.output - (before?.output ?? 0);
}

function noteErrorTag(state: StreamState, tag: string, line: string): void {
  const t = tag.toLowerCase();
  if (t.includes('auth') || t.includes('billing') || t.includes('permission')) setTransient(state, 'auth_failure', line);
  else if (t.includes('rate_limit') || t.includes('quota')) setTransient(state, 'usage_limit', line);
  else if (t.includes('server') || t.includes('overload') || t.includes('network') || t.includes('timeout')) setTransient(state, 'network', line);
}

function classifyResultError(state: StreamState, obj: Record<string, unknown>, line: string, nowMs: number): void {
  const errObj = obj['error'] as Record<string, unknown> | undefined;
  const status = Number(obj['api_error_status'] ?? errObj?.['status'] ?? errObj?.['code']);
  if (status === 401 || status === 403) return setTransient(state, 'auth_failure', line);
  if (status === 429) return setTransient(state, 'usage_limit', line);
  if ([408, 500, 502, 503, 504, 529].includes(status)) return setTransient(state, 'network', line);
  if (state.transient) return;
  // gemini's error object: a type or a Google RPC status word, classified by structure first.
  if (errObj && typeof errObj === 'object') {
    const signal = classifyErrorMessage(typeof errObj['message'] === 'string' ? errObj['message'] : '', errObj, nowMs);
    if (signal) return setSignal(state, { ...signal, raw: line.slice(0, 200) });
  }
  // The result text of an *error* result is the agent's own message, not tool output.
  const text = state.resultText ?? JSON.stringify(obj['error'] ?? '');
  if (AUTH_TEXT.test(text)) return setTransient(state, 'auth_failure', line);
  if (LIMIT_TEXT.test(text)) {
    const reset = parseResetFromText(text, nowMs);
    state.transient = { classification: 'usage_limit', ...(reset ? { reset_at_epoch: reset } : {}), raw: line.slice(0, 200) };
    return;
  }
  if (NETWORK_TEXT.test(text)) setTransient(state, 'network', line);
}

function setTransient(state: StreamState, classification: TransientClass, line: string): void {
  setSignal(state, { classification, raw: line.slice(0, 200) });
}

export function setSignal(state: StreamState, signal: TransientSignal): void {
  // A usage limit with a known reset time is the most specific signal; keep it.
  if (state.transient?.classification === 'usage_limit' && state.transient.reset_at_epoch) return;
  state.transient = signal;
}

/**
 * Text fallback, for agents with no structured output: only the last lines the agent printed
 * (its own final words), and only after a failed round.
 */
export function classifyText(tail: string, patterns: { auth: RegExp[]; network: RegExp[] }, nowMs: number): TransientSignal | undefined {
  const lines = tail.split('\n').slice(-30).join('\n');
  if (LIMIT_TEXT.test(lines) && /limit/i.test(lines)) {
    const reset = parseResetFromText(lines, nowMs);
    return { classification: 'usage_limit', ...(reset ? { reset_at_epoch: reset } : {}), raw: matchLine(lines, LIMIT_TEXT) };
  }
  for (const re of patterns.auth) if (re.test(lines)) return { classification: 'auth_failure', raw: matchLine(lines, re) };
  for (const re of [...patterns.network, PROVIDER_NETWORK_TEXT]) if (re.test(lines)) return { classification: 'network', raw: matchLine(lines, re) };
  return undefined;
}

/** litellm's exception names and aider's sentence for them (aider/exceptions.py): a provider that is down. */
const PROVIDER_NETWORK_TEXT = /\b(InternalServerError|ServiceUnavailableError|APIConnectionError|overloaded_error)\b|servers are down or overloaded/;

function matchLine(text: string, re: RegExp): string {
  return (text.split('\n').find((l) => re.test(l)) ?? '').slice(0, 200);
}

/**
 * Reset times in the documented text forms: `…limit reached|1767225600` (epoch seconds),
 * `resets at 2026-11-21T15:00:00Z`, `resets 3pm` / `resets at 15:30` (next such local time),
 * `try again in 2 hours 5 minutes`.
 */
export function parseResetFromText(text: string, nowMs: number): number | undefined {
  const pipe = /\|(\d{10})\b/.exec(text);
  if (pipe) return Number(pipe[1]);
  const iso = /resets?\s+(?:at\s+)?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))/i.exec(text);
  if (iso) {
    const t = Date.parse(iso[1]!);
    if (Number.isFinite(t)) return Math.round(t / 1000);
  }
  const inRel = /(?:try again|retry|resets?)\s+in\s+(?:(\d+)\s*h(?:ours?)?)?\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?/i.exec(text);
  if (inRel && (inRel[1] || inRel[2])) return Math.round(nowMs / 1000 + Number(inRel[1] ?? 0) * 3600 + Number(inRel[2] ?? 0) * 60);
  const clock = /(?:resets?|try again)\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b/i.exec(text);
  if (clock && (clock[3] || clock[2])) {
    let h = Number(clock[1]) % 12;
    if (!clock[3]) h = Number(clock[1]);
    else if (clock[3].toLowerCase() === 'pm') h += 12;
    const m = Number(clock[2] ?? 0);
    if (h < 24 && m < 60) {
      const d = new Date(nowMs);
      d.setHours(h, m, 0, 0);
      if (d.getTime() <= nowMs) d.setDate(d.getDate() + 1);
      return Math.round(d.getTime() / 1000);
    }
  }
  return undefined;
}
