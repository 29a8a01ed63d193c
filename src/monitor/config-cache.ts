import { statSync } from 'node:fs';
import { loadConfig, type Config } from '../config/load.js';

/**
 * A config loaded again only when its file changed (inode, size, modification time): a probe or
 * monitor evaluating every second, or at every change pushed, would otherwise spend about as much
 * on parsing and validating the same TOML as on the evaluation itself. A broken edit throws, as
 * loadConfig does, and is read again at the next call. (Two writes of the same size within one
 * tick of the filesystem's clock, a few ms, share a modification time: the second is seen with the
 * next edit.)
 */
export class ConfigCache {
  private readonly loaded = new Map<string, { key: string; cfg: Config }>();

  load(path: string): Config {
    let key: string;
    try {
      const s = statSync(path);
      key = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      // Missing or unreadable: loadConfig says so in its own words.
      this.loaded.delete(path);
      return loadConfig(path);
    }
    const had = this.loaded.get(path);
    if (had?.key === key) return had.cfg;
    const cfg = loadConfig(path);
    this.loaded.set(path, { key, cfg });
    return cfg;
  }
}
