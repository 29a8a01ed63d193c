// Loaded by vitest before every test file (setupFiles): each file gets its own
// $XDG_STATE_HOME, so the per-user registry and monitor state that the CLI keeps there never
// touch the real user's directory, and files running side by side never see each other's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'ar-user-state-'));
process.env['XDG_STATE_HOME'] = dir;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
