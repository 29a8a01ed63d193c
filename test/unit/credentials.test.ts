import { describe, expect, it } from 'vitest';
import { hasRefreshToken, parseLoginExpiry } from '../../src/agents/credentials.js';

const jwt = (payload: object) => ['e30', Buffer.from(JSON.stringify(payload)).toString('base64url'), 'sig'].join('.');

describe('parseLoginExpiry: only the expiry is read', () => {
  it('claude: claudeAiOauth.expiresAt in ms (or seconds)', () => {
    expect(parseLoginExpiry('claude', JSON.stringify({ claudeAiOauth: { accessToken: 'x', expiresAt: 1767225600000 } }))).toBe(1767225600000);
    expect(parseLoginExpiry('claude', JSON.stringify({ claudeAiOauth: { expiresAt: 1767225600 } }))).toBe(1767225600000);
  });

  it('codex: the exp claim of tokens.access_token', () => {
    expect(parseLoginExpiry('codex', JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: jwt({ exp: 1767225600 }), refresh_token: 'r' }, last_refresh: '2025-12-30T00:00:00Z' }))).toBe(1767225600000);
  });

  it('no expiry in an API-key login, a broken file or a token that is not a JWT', () => {
    expect(parseLoginExpiry('codex', JSON.stringify({ OPENAI_API_KEY: 'sk-x' }))).toBeUndefined();
    expect(parseLoginExpiry('codex', JSON.stringify({ tokens: { access_token: 'opaque' } }))).toBeUndefined();
    expect(parseLoginExpiry('claude', '{"claudeAiOauth":')).toBeUndefined();
    expect(parseLoginExpiry('claude', 'null')).toBeUndefined();
  });
});

describe('hasRefreshToken: a login the CLI renews by itself', () => {
  it('claude: claudeAiOauth.refreshToken; codex: tokens.refresh_token; only a non-empty string counts', () => {
    expect(hasRefreshToken('claude', JSON.stringify({ claudeAiOauth: { accessToken: 'x', refreshToken: 'r', expiresAt: 1 } }))).toBe(true);
    expect(hasRefreshToken('claude', JSON.stringify({ claudeAiOauth: { accessToken: 'x', refreshToken: '', expiresAt: 1 } }))).toBe(false);
    expect(hasRefreshToken('claude', JSON.stringify({ claudeAiOauth: { accessToken: 'x', refreshToken: null, expiresAt: 1 } }))).toBe(false);
    expect(hasRefreshToken('codex', JSON.stringify({ tokens: { access_token: 'a', refresh_token: 'r' } }))).toBe(true);
    expect(hasRefreshToken('codex', JSON.stringify({ tokens: { access_token: 'a' } }))).toBe(false);
    expect(hasRefreshToken('claude', 'not json')).toBe(false);
  });
});
