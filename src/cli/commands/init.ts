import type { Command } from 'commander';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { RunnerError, UsageError } from '../../errors.js';
import { git } from '../../round/git.js';
import { DEMO_GOAL, TEMPLATE_GOAL } from '../../round/template-goal.js';
import { loadConfig } from '../../config/load.js';
import { configPath, globals } from '../context.js';
import { json, out } from '../output.js';
import { PACKAGE_DIR } from '../paths.js';
import { noteProject } from '../record-project.js';

export function presetNames(): string[] {
  return readdirSync(join(PACKAGE_DIR, 'templates', 'presets'))
    .filter((n) => n.endsWith('.toml'))
    .map((n) => n.slice(0, -5))
    .sort();
}

const GITIGNORE_LINE = '.agent-runner/';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('scaffold agent-runner.toml, prompts/main.md and a .gitignore line in a git repository')
    .option('--preset <name>', `agent preset (${presetNames().join(', ')})`, 'claude')
    .option('--force', 'overwrite existing files')
    .option('--no-commit', 'do not commit the created files')
    .action(async (opts: { preset: string; force?: boolean; commit: boolean }, cmd: Command) => {
      const cfgPath = configPath(cmd);
      const dir = dirname(cfgPath);
      if (!presetNames().includes(opts.preset)) throw new UsageError(`unknown preset "${opts.preset}"; choose one of ${presetNames().join(', ')}`);
      const top = await git(dir, ['rev-parse', '--show-toplevel']);
      if (top.exitCode !== 0) throw new RunnerError(`${dir} is not a git working tree: run \`git init\` first`, 'not_a_repo');
      const promptPath = join(dir, 'prompts', 'main.md');
      if (existsSync(cfgPath) && !opts.force) throw new RunnerError(`${cfgPath} already exists; pass --force to overwrite`, 'exists');

      const project = basename(dir);
      const preset = readFileSync(join(PACKAGE_DIR, 'templates', 'presets', `${opts.preset}.toml`), 'utf8')
        .replaceAll('{package_dir}', PACKAGE_DIR)
        .replaceAll('{project}', project);
      const created: string[] = [];
      writeFileSync(cfgPath, preset);
      created.push(cfgPath);
      if (!existsSync(promptPath) || opts.force) {
        mkdirSync(dirname(promptPath), { recursive: true });
        const template = readFileSync(join(PACKAGE_DIR, 'prompts', 'main.md'), 'utf8');
        // The demo agent needs no instructions, but its prompt must still pass doctor's goal check.
        writeFileSync(promptPath, opts.preset === 'demo' ? template.replace(TEMPLATE_GOAL, DEMO_GOAL) : template);
        created.push(promptPath);
      }
      const gi = join(dir, '.gitignore');
      const current = existsSync(gi) ? readFileSync(gi, 'utf8') : '';
      if (!current.split('\n').includes(GITIGNORE_LINE)) {
        appendFileSync(gi, `${current && !current.endsWith('\n') ? '\n' : ''}# agent-runner local state\n${GITIGNORE_LINE}\n`);
        created.push(gi);
      }

      registerInitialised(cfgPath, dir);

      let committed = false;
      if (opts.commit) {
        const rel = created.map((f) => relative(dir, f));
        const add = await git(dir, ['add', '--', ...rel]);
        const hasIdentity = (await git(dir, ['config', 'user.email'])).stdout.trim() !== '';
        const idEnv = hasIdentity ? {} : { GIT_AUTHOR_NAME: 'agent-runner', GIT_AUTHOR_EMAIL: 'agent-runner@localhost', GIT_COMMITTER_NAME: 'agent-runner', GIT_COMMITTER_EMAIL: 'agent-runner@localhost' };
        // Only the files init created: a pathspec commit leaves anything else the user staged alone.
        const c = add.exitCode === 0 ? await git(dir, ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', 'chore: agent-runner initial config', '--', ...rel], idEnv) : add;
        committed = c.exitCode === 0;
      }
      const result = { work_dir: dir, preset: opts.preset, files_created: created, committed };
      if (globals(cmd).json) json(result);
      else {
        for (const f of created) out(`created ${relative(process.cwd(), f) || f}`);
        out(committed ? 'committed: chore: agent-runner initial config' : 'not committed');
        out(`next: edit prompts/main.md, then \`agent-runner round\` for one round or \`agent-runner serve\` for the loop`);
      }
    });
}

/** Record the new project under the name its config gives it (the directory's, if it does not load yet). */
function registerInitialised(cfgPath: string, dir: string): void {
  let named: { project: string; path: string; paths: { workDir: string } };
  try {
    named = loadConfig(cfgPath);
  } catch {
    named = { project: basename(dir), path: cfgPath, paths: { workDir: dir } };
  }
  noteProject(named, 'init');
}
