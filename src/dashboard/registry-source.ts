import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { listProjects } from '../registry/projects.js';
import { LocalProject } from './local-source.js';
import type { DashboardProject, ProjectSource } from './source.js';

/**
 * This host's project registry (`agent-runner ls`): every project a round, serve, start or install
 * recorded, read again on every call so a project started after the dashboard shows up. A project
 * keeps its reader (and so its place in the live stream) for as long as it stays registered.
 */
export class RegistrySource implements ProjectSource {
  private readonly known = new Map<string, LocalProject>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly warn: (line: string) => void,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  projects(): DashboardProject[] {
    const out: DashboardProject[] = [];
    const seen = new Set<string>();
    for (const { entry } of listProjects(this.env).entries) {
      seen.add(entry.config);
      let p = this.known.get(entry.config);
      if (!p) {
        // A project whose config is gone is `ls --prune`'s to forget; the dashboard skips it.
        if (!existsSync(entry.config)) continue;
        try {
          p = new LocalProject(loadConfig(entry.config));
        } catch (err) {
          if (!this.warned.has(entry.config)) this.warn(`dashboard: skipping ${entry.name} (${entry.config}): ${(err as Error).message}`);
          this.warned.add(entry.config);
          continue;
        }
        this.known.set(entry.config, p);
      }
      out.push(p);
    }
    for (const k of this.known.keys()) if (!seen.has(k)) this.known.delete(k);
    return out;
  }
}
