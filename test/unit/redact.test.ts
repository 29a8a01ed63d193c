import { describe, expect, it } from 'vitest';
import { MASK, Redactor } from '../../src/util/redact.js';

const r = new Redactor();

describe('Redactor: values from [agent.env]', () => {
  it('masks every occurrence of a configured value', () => {
    const red = new Redactor(['correct-horse-battery', 'x']);
    expect(red.text('key correct-horse-battery and again correct-horse-battery')).toBe(`key ${MASK} and again ${MASK}`);
  });

  it('ignores values shorter than 8 characters, which are flags and counts, not secrets', () => {
    const red = new Redactor(['1', 'xhigh', 'true']);
    expect(red.text('DISABLE_AUTOUPDATER=1 effort xhigh true')).toBe('DISABLE_AUTOUPDATER=1 effort xhigh true');
  });

  it('masks the longer of two overlapping values whole', () => {
    const red = new Redactor(['abcdefgh', 'abcdefgh-ijklmnop']);
    expect(red.text('v=abcdefgh-ijklmnop')).toBe(`v=${MASK}`);
  });
});

describe('Redactor: token shapes', () => {
  it.each([
    ['Anthropic key', 'key sk-ant-api03-AbCdEfGhIjKlMnOp done', `key ${MASK} done`],
    ['OpenAI-style key', 'using sk-proj1234567890abcdefXYZ now', `using ${MASK} now`],
    ['GitHub token', 'push with ghp_abcdefghijklmnopqrstuvwxyz0123456789', `push with ${MASK}`],
    ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop', MASK],
    ['Slack token', 'xoxb-1234567890-abcdefghij', MASK],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE', MASK],
    ['Google API key', 'AIzaSyA1234567890abcdefghijklmnopq', MASK],
    ['JWT', 'auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', `auth ${MASK}`],
    ['Bearer header', 'Authorization: Bearer abcdef0123456789abcdef', `Authorization: ${MASK}`],
    ['Basic header', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', `Authorization: ${MASK}`],
    ['API_KEY=value', 'ANTHROPIC_API_KEY=abc123def456 claude', `ANTHROPIC_API_KEY=${MASK} claude`],
    ['TOKEN="quoted value"', 'GH_TOKEN="two words" next', `GH_TOKEN=${MASK} next`],
    ["password='quoted'", "db password='p@ss w0rd' ok", `db password=${MASK} ok`],
    ['SECRET in a longer name', 'MY_CLIENT_SECRET_V2=zzz', `MY_CLIENT_SECRET_V2=${MASK}`],
    ['--api-key flag', 'claude --api-key abc123 -p', `claude --api-key ${MASK} -p`],
    ['--token= flag', 'tool --token=abc123', `tool --token=${MASK}`],
    ['URL userinfo', 'clone https://alice:s3cret@git.example.com/repo.git', `clone https://${MASK}@git.example.com/repo.git`],
    ['private key block', 'k=-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY----- end', `k=${MASK} end`],
  ])('%s', (_name, input, want) => {
    expect(r.text(input)).toBe(want);
  });

  it.each([
    'ordinary log line: 1234 tokens used, 5 files changed',
    'sk-short',
    'the word Bearer alone',
    'https://git.example.com/repo.git',
    'user@example.com wrote this',
    'eyJ is how JWTs start',
  ])('leaves %j alone', (text) => {
    expect(r.text(text)).toBe(text);
  });
});

describe('Redactor.value', () => {
  it('redacts every string in nested objects and arrays, leaving other values alone', () => {
    const red = new Redactor(['hunter2hunter2']);
    const input = { a: 'pw hunter2hunter2', n: 5, b: true, z: null, list: ['ok', { deep: 'Bearer abcdef0123456789abcdef' }] };
    expect(red.value(input)).toEqual({ a: `pw ${MASK}`, n: 5, b: true, z: null, list: ['ok', { deep: MASK }] });
    // The input is not modified.
    expect(input.a).toBe('pw hunter2hunter2');
  });
});

describe('Redactor: leaves ordinary text alone', () => {
  const r = new Redactor();
  it.each([
    ['token counts', 'input_tokens=1200 output_tokens=7'],
    ['a tokenizer setting', 'TOKENIZER_PARALLELISM=false'],
    ['a flag named in prose', 'see the --auth flag in the docs'],
    ['a numeric token count', 'MAX_TOKEN=4096'],
  ])('%s', (_name, input) => {
    expect(r.text(input)).toBe(input);
  });
});
