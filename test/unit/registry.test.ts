import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryFile, listProjects, recordProject, registryDir } from '../../src/registry/projects.js';

const envOf = () => ({ XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'ar-registry-')) });
const proj = (name: string) => ({ name, path: `/src/${name}`, config: `/src/${name}/agent-runner.toml`, verb: 'round' });

describe('project registry', () => {
  it('keeps first_seen and refreshes last_seen, name and verb when a project is recorded again', () => {
    const env = envOf();
    recordProject(proj('a'), env, Date.parse('2026-01-01T00:00:00Z'));
    recordProject({ ...proj('a'), name: 'renamed', verb: 'serve' }, env, Date.parse('2026-01-02T00:00:00Z'));
    expect(listProjects(env).entries.map((e) => e.entry)).toEqual([
      { v: 1, name: 'renamed', path: '/src/a', config: '/src/a/agent-runner.toml', first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-02T00:00:00.000Z', last_verb: 'serve' },
    ]);
  });

  it('one file per config path, listed by name; a writer\'s temp file is not an entry, a foreign file is a problem', () => {
    const env = envOf();
    for (const n of ['c', 'a', 'b']) recordProject(proj(n), env);
    expect(readdirSync(registryDir(env))).toHaveLength(3);
    expect(entryFile('/src/a/agent-runner.toml', env)).not.toBe(entryFile('/src/b/agent-runner.toml', env));
    writeFileSync(join(registryDir(env), '.x.json.123.tmp'), '{');
    writeFileSync(join(registryDir(env), 'other.json'), '{"v": 2, "name": "x"}');
    const { entries, problems } = listProjects(env);
    expect(entries.map((e) => e.entry.name)).toEqual(['a', 'b', 'c']);
    expect(problems).toEqual([{ file: join(registryDir(env), 'other.json'), error: 'not a registry entry (version 1)' }]);
  });

  it('an absent registry is empty, not an error', () => {
    expect(listProjects(envOf())).toEqual({ entries: [], problems: [] });
  });
});
