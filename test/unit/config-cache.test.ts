import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { ConfigCache } from '../../src/monitor/config-cache.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function config(): string {
  const d = mkdtempSync(join(tmpdir(), 'ar-cfgcache-'));
  dirs.push(d);
  writeFileSync(join(d, 'p.md'), 'x');
  const path = join(d, 'agent-runner.toml');
  writeFileSync(path, '[agent]\ncommand = ["true"]\nprompt_arg_template = ["{prompt}"]\n[prompt]\nfile = "p.md"\n[monitor]\nwindow = 3\n');
  return path;
}

describe('ConfigCache: a config parsed again only when its file changed', () => {
  // Edits change the size here: two writes of one size within one tick of the filesystem's clock
  // (a few ms) can share a modification time.
  it('the same file gives the same config; an edit is read at the next load; a broken edit throws', () => {
    const path = config();
    const cache = new ConfigCache();
    const a = cache.load(path);
    expect(cache.load(path)).toBe(a);
    writeFileSync(path, readFileSync(path, 'utf8').replace('window = 3', 'window = 15'));
    const b = cache.load(path);
    expect(b).not.toBe(a);
    expect(b.monitor.window).toBe(15);
    writeFileSync(path, readFileSync(path, 'utf8').replace('window = 15', 'windoww = 15'));
    expect(() => cache.load(path)).toThrow(ConfigError);
    rmSync(path);
    expect(() => cache.load(path)).toThrow(ConfigError);
  });
});
