import { describe, expect, it } from 'vitest';
import { inertFieldsOf, INERT_FIELDS } from '../../src/config/inert.js';
import { parseConfig } from '../../src/config/load.js';

const BASE = '[agent]\ncommand = ["x"]\nprompt_delivery = "stdin"\n[prompt]\nfile = "p.md"\n';

describe('fields that load but do nothing', () => {
  it('names each one the file sets, with its line, and nothing else', () => {
    const cfg = parseConfig(`${BASE}[runtime]\nround_timeout_s = 60\ndry_run = false\nnarrative_file = "n.md"\n`, '/p/agent-runner.toml');
    // dry_run = false, its default, still counts: whoever wrote it expected it to mean something.
    expect(cfg.inert).toEqual([
      { key: 'runtime.dry_run', why: INERT_FIELDS['runtime.dry_run'], line: 8 },
      { key: 'runtime.narrative_file', why: INERT_FIELDS['runtime.narrative_file'], line: 9 },
    ]);
    expect(parseConfig(BASE, '/p/agent-runner.toml').inert).toEqual([]);
  });

  it('finds a per-phase field under every phase, and a non-empty [plugins] table only', () => {
    const doc = { phases: { list: ['a', 'b'], a: { disable_pre_round_hooks: true }, b: { round_timeout_s: 5 } }, plugins: { x: 1 } };
    expect(inertFieldsOf(doc).map((f) => f.key)).toEqual(['phases.a.disable_pre_round_hooks', 'plugins']);
    expect(inertFieldsOf({ plugins: {} })).toEqual([]);
  });
});
