import { recordProject } from '../registry/projects.js';
import { err } from './output.js';

/**
 * Note the project in the per-user registry (what `ls` lists). The registry is a convenience: a
 * write error costs one warning line, never the verb.
 */
export function noteProject(cfg: { project: string; path: string; paths: { workDir: string } }, verb: string): void {
  try {
    recordProject({ name: cfg.project, path: cfg.paths.workDir, config: cfg.path, verb });
  } catch (e) {
    err(`warning: could not record ${cfg.project} in the project registry (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); \`agent-runner ls\` will not list it`);
  }
}
