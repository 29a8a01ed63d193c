import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * docs/ holds sections generated from the code's registries (exit codes, event kinds, the config
 * schema, the defenses catalog). Regenerating must change nothing: drift fails here. The generator
 * reads dist/, so this runs after a build (./build.sh test builds first).
 */
const REPO = resolve(import.meta.dirname, '../..');
const GEN = join(REPO, 'scripts/gen-docs.mjs');
// Each run loads the TypeScript checker (the events schema comes from the payload types): seconds
// on a loaded machine, several runs per test.
const GEN_TIMEOUT_MS = 180_000;
const gen = (...args: string[]) => spawnSync(process.execPath, [GEN, ...args], { cwd: REPO, encoding: 'utf8' });

const scratch = mkdtempSync(join(tmpdir(), 'ar-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('generated docs', () => {
  it('dist/ is built (the generator reads the built registries)', () => {
    expect(existsSync(join(REPO, 'dist/exit-codes.js')), 'run npx tsc -p tsconfig.json first').toBe(true);
  });

  it('are up to date: `gen-docs --check` passes', () => {
    const r = gen('--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, GEN_TIMEOUT_MS);

  it('--check names a stale file and exits 1; regenerating fixes it', () => {
    const docs = join(scratch, 'docs');
    cpSync(join(REPO, 'docs'), docs, { recursive: true });
    const events = join(docs, 'events.md');
    const fresh = readFileSync(events, 'utf8');
    // Someone renamed a kind in the code but not in the docs.
    writeFileSync(events, fresh.replace('`round_start`', '`round_begin`'));
    const stale = gen('--check', '--docs', docs);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/events\.md is stale; run \.\/build\.sh docs/);
    expect(stale.stderr).not.toMatch(/exit-codes\.md|configuration\.md|defenses\.md/);
    expect(readFileSync(events, 'utf8')).toContain('`round_begin`');

    const fix = gen('--docs', docs);
    expect(fix.status).toBe(0);
    expect(readFileSync(events, 'utf8')).toBe(fresh);
    expect(gen('--check', '--docs', docs).status).toBe(0);
  }, GEN_TIMEOUT_MS);

  it('hand-written prose outside the markers is kept', () => {
    const docs = join(scratch, 'docs2');
    cpSync(join(REPO, 'docs'), docs, { recursive: true });
    const file = join(docs, 'exit-codes.md');
    writeFileSync(file, readFileSync(file, 'utf8') + '\nA note added by hand.\n');
    expect(gen('--check', '--docs', docs).status).toBe(0);
    expect(gen('--docs', docs).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('A note added by hand.');
  }, GEN_TIMEOUT_MS);

  it('a doc that lost its markers is an error, not a silent skip', () => {
    const docs = join(scratch, 'docs3');
    cpSync(join(REPO, 'docs'), docs, { recursive: true });
    const file = join(docs, 'defenses.md');
    writeFileSync(file, readFileSync(file, 'utf8').replace('<!-- /generated:defenses -->', ''));
    const r = gen('--check', '--docs', docs);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('has no <!-- generated:defenses -->');
  }, GEN_TIMEOUT_MS);

  it('every config field, exit code, event kind and defense appears in the docs', async () => {
    const [{ EXIT_CODES }, { EVENT_KINDS }] = await Promise.all([import('../../src/exit-codes.js'), import('../../src/events/kinds.js')]);
    const exitDoc = readFileSync(join(REPO, 'docs/exit-codes.md'), 'utf8');
    for (const e of EXIT_CODES) expect(exitDoc).toContain(`| ${e.code} | \`${e.name}\``);
    const eventsDoc = readFileSync(join(REPO, 'docs/events.md'), 'utf8');
    for (const k of Object.keys(EVENT_KINDS)) expect(eventsDoc).toContain(`| \`${k}\` |`);
    const configDoc = readFileSync(join(REPO, 'docs/configuration.md'), 'utf8');
    for (const k of ['`command`', '`round_timeout_s`', '`kill_grace_s`', '`disk_critical_pct`', '`auto_stop_on`', '`dirty_action_on_failure`']) expect(configDoc).toContain(`| ${k} |`);
    expect(configDoc).toContain('`vcs.orphan_action`');
  });
});
