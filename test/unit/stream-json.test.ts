import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTH_FAIL_PATTERN, DEFAULT_NETWORK_FAIL_PATTERN } from '../../src/config/schema.js';
import { classifyText, feedLine, newStreamState, parseResetFromText, type StreamState } from '../../src/round/stream-json.js';

const feed = (...objs: Array<object | string>): StreamState => {
  const s = newStreamState();
  for (const o of objs) feedLine(s, typeof o === 'string' ? o : JSON.stringify(o));
  return s;
};
const errorResult = (extra: object) => ({ type: 'result', subtype: 'error_during_execution', is_error: true, ...extra });
const assistant = (content: object[], extra: object = {}) => ({ type: 'assistant', message: { model: 'claude-x', content }, ...extra });
const toolResult = (text: string) => ({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: text }] } });

describe('feedLine: lines that are not structured', () => {
  it('ignores plain text, blank lines, broken JSON and JSON that is not an object', () => {
    const s = feed('hello', '', '{"type": "resu', '[1,2]', '42', 'null');
    expect(s.structured).toBe(false);
    expect(s.lines).toBe(0);
    expect(s.transient).toBeUndefined();
  });

  it('counts structured lines and remembers the last type', () => {
    const s = feed({ type: 'system', subtype: 'init', model: 'claude-opus' }, assistant([{ type: 'text', text: 'hi' }]));
    expect(s).toMatchObject({ structured: true, lines: 2, lastType: 'assistant', model: 'claude-x' });
  });
});

describe('feedLine: rate_limit_event', () => {
  const event = (info: object) => ({ type: 'rate_limit_event', rate_limit_info: info });

  it('rejected with resetsAt in epoch seconds', () => {
    const s = feed(event({ status: 'rejected', rateLimitType: 'five_hour', resetsAt: 1767225600 }));
    expect(s.transient).toMatchObject({ classification: 'usage_limit', reset_at_epoch: 1767225600 });
    expect(s.transient!.raw).toContain('rate_limit_event');
  });

  it('rejected with resetsAt in epoch milliseconds', () => {
    const s = feed(event({ status: 'rejected', resetsAt: 1767225600123 }));
    expect(s.transient).toMatchObject({ classification: 'usage_limit', reset_at_epoch: 1767225600 });
  });

  it('rejected with resetsAt as a numeric string', () => {
    expect(feed(event({ status: 'rejected', resetsAt: '1767225600' })).transient?.reset_at_epoch).toBe(1767225600);
  });

  it('rejected with no usable reset time: a usage limit without reset_at_epoch', () => {
    for (const resetsAt of [undefined, null, 'soon', 0, -5]) {
      const s = feed(event({ status: 'rejected', resetsAt }));
      expect(s.transient?.classification).toBe('usage_limit');
      expect(s.transient && 'reset_at_epoch' in s.transient).toBe(false);
    }
  });

  it('allowed or allowed_warning is informational, not a limit', () => {
    expect(feed(event({ status: 'allowed', resetsAt: 1767225600 })).transient).toBeUndefined();
    expect(feed(event({ status: 'allowed_warning', resetsAt: 1767225600 })).transient).toBeUndefined();
    expect(feed({ type: 'rate_limit_event' }).transient).toBeUndefined();
  });

  it('a known reset time is kept when a less specific signal follows', () => {
    const s = feed(event({ status: 'rejected', resetsAt: 1767225600 }), errorResult({ api_error_status: 401 }));
    expect(s.transient).toMatchObject({ classification: 'usage_limit', reset_at_epoch: 1767225600 });
  });
});

describe('feedLine: api_error_status on an error result', () => {
  it.each([
    [401, 'auth_failure'],
    [403, 'auth_failure'],
    [429, 'usage_limit'],
    [408, 'network'],
    [500, 'network'],
    [502, 'network'],
    [503, 'network'],
    [504, 'network'],
    [529, 'network'],
  ] as const)('%i → %s', (status, cls) => {
    const s = feed(errorResult({ api_error_status: status, result: 'API Error' }));
    expect(s.resultSeen).toBe(true);
    expect(s.resultIsError).toBe(true);
    expect(s.transient?.classification).toBe(cls);
  });

  it('the status may sit in error.status', () => {
    expect(feed(errorResult({ error: { status: 403, message: 'forbidden' } })).transient?.classification).toBe('auth_failure');
  });

  it('a 400 falls back to the error result\'s own text, and plain failures stay unclassified', () => {
    expect(feed(errorResult({ api_error_status: 400, result: 'Invalid API key · Please run /login' })).transient?.classification).toBe('auth_failure');
    expect(feed(errorResult({ api_error_status: 400, result: 'prompt is too long' })).transient).toBeUndefined();
    expect(feed(errorResult({ subtype: 'error_max_turns', result: 'reached max turns' })).transient).toBeUndefined();
  });

  it('the error result\'s own text: usage limit with a reset, network, auth', () => {
    const lim = feed(errorResult({ result: 'Claude AI usage limit reached|1767225600' })).transient;
    expect(lim).toMatchObject({ classification: 'usage_limit', reset_at_epoch: 1767225600 });
    expect(feed(errorResult({ result: 'API Error: Connection error. fetch failed' })).transient?.classification).toBe('network');
    expect(feed(errorResult({ result: 'OAuth token has expired' })).transient?.classification).toBe('auth_failure');
  });

  it('a successful result is never classified, whatever its text says', () => {
    const s = feed({ type: 'result', subtype: 'success', is_error: false, result: 'Fixed the 401 handling and the usage limit reached banner' });
    expect(s.resultIsError).toBe(false);
    expect(s.transient).toBeUndefined();
  });
});

describe('feedLine: error tags on assistant messages', () => {
  it.each([
    ['authentication_failed', 'auth_failure'],
    ['billing_error', 'auth_failure'],
    ['permission_denied', 'auth_failure'],
    ['rate_limit', 'usage_limit'],
    ['quota_exceeded', 'usage_limit'],
    ['server_error', 'network'],
    ['overloaded_error', 'network'],
    ['network_error', 'network'],
    ['request_timeout', 'network'],
  ] as const)('"%s" → %s', (tag, cls) => {
    expect(feed(assistant([{ type: 'text', text: 'API Error' }], { error: tag })).transient?.classification).toBe(cls);
  });

  it('an unknown tag, or a tag that is not a string, classifies nothing', () => {
    expect(feed(assistant([], { error: 'invalid_request' })).transient).toBeUndefined();
    expect(feed(assistant([], { error: { type: 'rate_limit' } })).transient).toBeUndefined();
  });
});

describe('feedLine: tokens so far from assistant messages', () => {
  const usageLine = (id: string | undefined, input: number, output: number, content: object[] = [{ type: 'text', text: 'working' }]) => ({
    type: 'assistant',
    message: { ...(id ? { id } : {}), model: 'claude-x', role: 'assistant', content, usage: { input_tokens: input, output_tokens: output, cache_read_input_tokens: 30000, cache_creation_input_tokens: 500 } },
  });

  it('adds up each message once, with the last usage seen for its id', () => {
    // claude prints one line per content block of a message, all under the message's id.
    const s = feed(
      usageLine('msg_1', 10, 5),
      usageLine('msg_1', 10, 40, [{ type: 'tool_use', id: 't1', name: 'Read', input: { file_path: 'a' } }]),
      { type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: 'x' }] } },
      usageLine('msg_2', 3, 7),
      usageLine('msg_2', 3, 7),
    );
    expect(s.soFar).toMatchObject({ usageSeen: true, inputTokens: 13, outputTokens: 47 });
    expect(s.toolCalls).toBe(1);
  });

  it('a line with no id counts as a message of its own', () => {
    expect(feed(usageLine(undefined, 1, 2), usageLine(undefined, 1, 2)).soFar).toMatchObject({ inputTokens: 2, outputTokens: 4 });
  });

  it('no usage seen: nothing counted, and the result\'s usage does not count as so far', () => {
    const s = feed(assistant([{ type: 'text', text: 'hi' }]), { type: 'result', subtype: 'success', is_error: false, result: 'ok', usage: { input_tokens: 9, output_tokens: 9 } });
    expect(s.soFar).toMatchObject({ usageSeen: false, inputTokens: 0, outputTokens: 0 });
    expect(s.usage?.output_tokens).toBe(9);
  });
});

describe('feedLine: tool calls', () => {
  it('counts tool_use blocks in assistant messages and top-level tool_use/tool_call lines', () => {
    const s = feed(
      assistant([
        { type: 'text', text: 'Reading' },
        { type: 'tool_use', name: 'Read', input: { file_path: '/a.ts' } },
        { type: 'tool_use', name: 'Bash', input: { command: 'ls' } },
      ]),
      toolResult('file contents'),
      { type: 'tool_use', name: 'Edit' },
      { type: 'tool_call', name: 'shell' },
    );
    expect(s.toolCalls).toBe(4);
  });

  it('feeds every (tool, target) pair to the repetition check, from either shape', () => {
    const s = newStreamState({ window: 10, threshold: 3 });
    for (let i = 0; i < 3; i++) feedLine(s, JSON.stringify(assistant([{ type: 'tool_use', name: 'Edit', input: { file_path: '/a.ts' } }])));
    for (let i = 0; i < 3; i++) feedLine(s, JSON.stringify({ type: 'tool_call', name: 'shell', parameters: { command: 'make' } }));
    expect(s.toolCalls).toBe(6);
    expect(s.repetition.findings()).toEqual([
      { tool_name: 'Edit', target: '/a.ts', count: 3, window: 10 },
      { tool_name: 'shell', target: 'make', count: 3, window: 10 },
    ]);
  });

  it('counts every call, with the repetition check off by default', () => {
    const s = newStreamState();
    for (let i = 0; i < 60; i++) feedLine(s, JSON.stringify(assistant([{ type: 'tool_use', name: 'Edit', input: { file_path: '/same' } }])));
    expect(s.toolCalls).toBe(60);
    expect(s.repetition.findings()).toEqual([]);
  });
});

describe('feedLine: the result line', () => {
  it('records cost, usage, duration and the result text', () => {
    const s = feed(
      { type: 'system', subtype: 'init', model: 'claude-opus-4-7' },
      {
        type: 'result',
        subtype: 'success',
        is_error: false,
        result: 'All done.',
        total_cost_usd: 0.4213,
        duration_ms: 81234,
        usage: { input_tokens: 1200, output_tokens: 3400, cache_read_input_tokens: 50000, cache_creation_input_tokens: 700 },
      },
    );
    expect(s).toMatchObject({ resultSeen: true, resultIsError: false, resultText: 'All done.', costUsd: 0.4213, durationMs: 81234, model: 'claude-opus-4-7' });
    expect(s.usage).toEqual({ input_tokens: 1200, output_tokens: 3400, cached_tokens: 50000, cache_creation_tokens: 700 });
  });

  it('reads cost_usd and gemini-style stats too, with missing numbers as 0', () => {
    const s = feed({ type: 'result', status: 'success', cost_usd: 0.02, stats: { input_tokens: 10, cached_tokens: 4 } });
    expect(s.costUsd).toBe(0.02);
    expect(s.usage).toEqual({ input_tokens: 10, output_tokens: 0, cached_tokens: 4, cache_creation_tokens: 0 });
  });

  it('status "error" or an error_* subtype marks the result as an error', () => {
    expect(feed({ type: 'result', status: 'error' }).resultIsError).toBe(true);
    expect(feed({ type: 'result', subtype: 'error_max_turns' }).resultIsError).toBe(true);
    expect(feed({ type: 'result', subtype: 'success' }).resultIsError).toBe(false);
  });
});

describe('feedLine: text inside tool output never classifies', () => {
  const scary = [
    'Claude AI usage limit reached|1999999999',
    'HTTP 401 Unauthorized: invalid api key',
    'Error: connect ECONNREFUSED 127.0.0.1:443',
    'rate limit exceeded, 429 too many requests',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1999999999}}',
  ];

  it.each(scary)('tool_result containing %j', (text) => {
    const s = feed(toolResult(text), { type: 'result', subtype: 'success', is_error: false, result: 'ok' });
    expect(s.transient).toBeUndefined();
  });

  it('not even when the round then fails with an error result that has no text of its own', () => {
    const s = feed(...scary.map(toolResult), errorResult({}));
    expect(s.resultIsError).toBe(true);
    expect(s.transient).toBeUndefined();
  });

  it('nor tool_use input that mentions limits', () => {
    const s = feed(assistant([{ type: 'tool_use', name: 'Bash', input: { command: 'grep "usage limit reached" -r . # 401' } }]));
    expect(s.transient).toBeUndefined();
    expect(s.toolCalls).toBe(1);
  });
});

describe('parseResetFromText', () => {
  // 10:00 local time on a day without a DST change, so "resets 3pm" is five hours later.
  const now = new Date(2026, 0, 15, 10, 0, 0, 0).getTime();
  const nowS = now / 1000;

  it.each([
    ['pipe epoch', 'Claude AI usage limit reached|1767225600', 1767225600],
    ['ISO with Z', 'Your limit resets at 2026-11-21T15:00:00Z.', Date.UTC(2026, 10, 21, 15) / 1000],
    ['ISO with offset, no "at"', 'limit reached; resets 2026-11-21T15:00:00+02:00', Date.UTC(2026, 10, 21, 13) / 1000],
    ['ISO with fractional seconds', 'resets at 2026-11-21T15:00:00.250Z', Math.round(Date.UTC(2026, 10, 21, 15, 0, 0, 250) / 1000)],
    ['try again in hours and minutes', 'Please try again in 2 hours 5 minutes', nowS + 2 * 3600 + 5 * 60],
    ['retry in minutes', 'retry in 45 minutes', nowS + 45 * 60],
    ['resets in short hours', 'resets in 3h', nowS + 3 * 3600],
    ['resets in short minutes', 'resets in 90m', nowS + 90 * 60],
    ['resets 3pm (later today)', 'You have hit your limit · resets 3pm', nowS + 5 * 3600],
    ['resets at 15:30 (24h clock)', 'limit reached, resets at 15:30', nowS + 5.5 * 3600],
    ['resets 3:30 pm', 'resets 3:30 pm', nowS + 5.5 * 3600],
    ['resets 9am (tomorrow)', 'resets 9am', nowS + 23 * 3600],
    ['resets 12pm (noon)', 'resets 12pm', nowS + 2 * 3600],
    ['resets 12am (midnight)', 'resets 12am', nowS + 14 * 3600],
  ])('%s', (_name, text, want) => {
    expect(parseResetFromText(text, now)).toBe(want);
  });

  it.each([
    'usage limit reached',
    'resets 3', // neither minutes nor am/pm: too ambiguous to act on
    'resets at 25:00',
    'try again later',
    'limit reached|123', // not a 10-digit epoch
  ])('no reset time in %j', (text) => {
    expect(parseResetFromText(text, now)).toBeUndefined();
  });
});

describe('classifyText (agents without structured output)', () => {
  const patterns = { auth: [new RegExp(DEFAULT_AUTH_FAIL_PATTERN, 'i')], network: [new RegExp(DEFAULT_NETWORK_FAIL_PATTERN, 'i')] };
  const now = Date.UTC(2026, 0, 1);

  it('a usage limit, with its reset', () => {
    const t = classifyText('working...\nClaude AI usage limit reached|1767225600\n', patterns, now);
    expect(t).toEqual({ classification: 'usage_limit', reset_at_epoch: 1767225600, raw: 'Claude AI usage limit reached|1767225600' });
  });

  it('"429 too many requests" without the word limit is not a usage limit', () => {
    expect(classifyText('HTTP 429 too many requests', patterns, now)?.classification).not.toBe('usage_limit');
  });

  it('an auth failure names the matching line', () => {
    expect(classifyText('step 1\nError: OAuth token expired\nbye', patterns, now)).toEqual({ classification: 'auth_failure', raw: 'Error: OAuth token expired' });
  });

  it('a network error', () => {
    expect(classifyText('Error: connect ECONNREFUSED 127.0.0.1:443', patterns, now)).toEqual({ classification: 'network', raw: 'Error: connect ECONNREFUSED 127.0.0.1:443' });
  });

  it('auth is checked before network', () => {
    expect(classifyText('connection refused\n401 unauthorized', patterns, now)?.classification).toBe('auth_failure');
  });

  it('only the last 30 lines count: the agent\'s final words, not its whole transcript', () => {
    const early = 'usage limit reached|1767225600\nECONNREFUSED\nunauthorized\n';
    expect(classifyText(early + 'ordinary line\n'.repeat(30), patterns, now)).toBeUndefined();
    expect(classifyText(early + 'ordinary line\n'.repeat(20), patterns, now)?.classification).toBe('usage_limit');
  });

  it('ordinary failure output classifies nothing', () => {
    expect(classifyText('TypeError: x is undefined\n    at main (a.js:1:1)', patterns, now)).toBeUndefined();
  });

  it('the configured patterns are the ones used', () => {
    const custom = { auth: [/badge expired/i], network: [/tunnel down/i] };
    expect(classifyText('the badge expired', custom, now)?.classification).toBe('auth_failure');
    expect(classifyText('tunnel down', custom, now)?.classification).toBe('network');
    expect(classifyText('unauthorized', custom, now)).toBeUndefined();
  });
});
