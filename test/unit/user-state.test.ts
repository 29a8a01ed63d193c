import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { userStateDir } from '../../src/state/user-state.js';

describe('userStateDir', () => {
  it('is $XDG_STATE_HOME/agent-runner, else ~/.local/state/agent-runner', () => {
    expect(userStateDir({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).toBe('/x/state/agent-runner');
    expect(userStateDir({ HOME: '/home/u' })).toBe('/home/u/.local/state/agent-runner');
    expect(userStateDir({ XDG_STATE_HOME: '', HOME: '/home/u' })).toBe('/home/u/.local/state/agent-runner');
  });

  it('points every test file at a private temp directory, never the real one', () => {
    const dir = process.env['XDG_STATE_HOME'] ?? '';
    expect(dir.startsWith(join(tmpdir(), 'ar-user-state-'))).toBe(true);
  });
});
