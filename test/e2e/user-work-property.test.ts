// Property: for random user states × every dirty_action × every kind of round outcome, each byte of
// the user's uncommitted work from before the round is afterwards in the work tree or in the
// round's snapshot (refs/agent-runner/orphans/R1-before); work the agent left alone stays in place,
// staged or not; ignored files and nested repositories are untouched. Real git repositories, real
// rounds (the library's runRound, the real fake agent process under its real supervision).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runRound } from '../../src/api/round.js';
import { loadConfig } from '../../src/config/load.js';
import { makeProject, readEvents, type Project } from '../helpers/project.js';
import { gitBuf, pathBuf, revParse, treeEntries, unrecoverable, userState } from '../helpers/worktree.js';

// A fixed seed by default, so the suite is reproducible; WORKSAFE_SEED and WORKSAFE_RUNS explore further.
const SEED = Number(process.env['WORKSAFE_SEED'] ?? 20261202);
const RUNS = Number(process.env['WORKSAFE_RUNS'] ?? 6);
const BEFORE = 'refs/agent-runner/orphans/R1-before';

/** Names as byte strings (latin1): spaces, a newline, leading dashes, UTF-8 and invalid UTF-8. */
const POOL = ['a.txt', 'dir/b.txt', 'with space.txt', 'new\nline', '-dash', '--', 'bad-\xff\xfe', 'deep/er/c.bin', 'x y/z', 'caf\xc3\xa9.md'];

type Content = { kind: 'text'; text: string } | { kind: 'binary'; bytes: Uint8Array } | { kind: 'large'; seed: number } | { kind: 'symlink'; target: string };
const content: fc.Arbitrary<Content> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }).map((text) => ({ kind: 'text' as const, text })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 250 }).map((seed) => ({ kind: 'large' as const, seed })) },
  { weight: 1, arbitrary: fc.constantFrom('a.txt', '/nonexistent', 'tracked.txt').map((target) => ({ kind: 'symlink' as const, target })) },
);
const file = fc.record({ content, exec: fc.boolean() });

type Role =
  | { role: 'absent' }
  | { role: 'tracked'; base: { content: Content; exec: boolean }; op: 'none' | 'modify' | 'modify_stage' | 'stage_modify' | 'delete' | 'rm' | 'chmod'; next: { content: Content; exec: boolean } }
  | { role: 'untracked'; file: { content: Content; exec: boolean }; staged: 'no' | 'staged' | 'staged_then_modified'; next: { content: Content; exec: boolean } };
const role: fc.Arbitrary<Role> = fc.oneof(
  fc.constant({ role: 'absent' as const }),
  fc.record({ role: fc.constant('tracked' as const), base: file, op: fc.constantFrom('none', 'modify', 'modify_stage', 'stage_modify', 'delete', 'rm', 'chmod'), next: file }),
  fc.record({ role: fc.constant('untracked' as const), file, staged: fc.constantFrom('no', 'staged', 'staged_then_modified'), next: file }),
);

const OUTCOMES = ['noop', 'edits', 'commit', 'crash', 'timeout', 'stage_all'] as const;
const scenario = fc.record({
  roles: fc.tuple(...POOL.map(() => role)),
  editConfig: fc.boolean(),
  editPrompt: fc.boolean(),
  nested: fc.boolean(),
  action: fc.constantFrom('stash', 'ignore', 'auto_commit'),
  outcome: fc.constantFrom(...OUTCOMES),
  // What the agent does to the user's paths (also for crash, timeout, commit and stage_all).
  targets: fc.array(fc.record({ name: fc.constantFrom(...POOL, 'prompt.md'), op: fc.constantFrom('overwrite', 'delete') }), { maxLength: 4 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function put(dir: string, name: string, f: { content: Content; exec: boolean }): void {
  const abs = pathBuf(dir, name);
  rmSync(abs, { force: true });
  const slash = name.lastIndexOf('/');
  if (slash > 0) mkdirSync(pathBuf(dir, name.slice(0, slash)), { recursive: true });
  const c = f.content;
  if (c.kind === 'symlink') return symlinkSync(c.target, abs);
  const bytes = c.kind === 'text' ? Buffer.from(c.text) : c.kind === 'binary' ? Buffer.from(c.bytes) : Buffer.alloc(2 * 1024 * 1024 + c.seed, c.seed);
  writeFileSync(abs, bytes);
  chmodSync(abs, f.exec ? 0o755 : 0o644);
}

/** A bash word for any byte string: $'\xHH…'. */
const word = (name: string): string => `$'${[...Buffer.from(name, 'latin1')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}'`;

function agentScript(s: Scenario): string {
  const lines = ['cd "$(git rev-parse --show-toplevel)"'];
  for (const t of s.targets) {
    lines.push(`rm -f -- ${word(t.name)}`);
    if (t.op === 'overwrite') lines.push(`mkdir -p -- "$(dirname -- ${word(t.name)})"; printf 'agent wrote this\\n' > ${word(t.name)}`);
  }
  lines.push('echo agent > agent-left.txt');
  if (s.outcome === 'commit') lines.push('echo agent > agent-committed.txt', 'git add -- agent-committed.txt', 'git -c user.name=a -c user.email=a@a -c commit.gpgsign=false commit -qm agent');
  if (s.outcome === 'stage_all') lines.push('git add -A');
  if (s.outcome === 'crash') lines.push('exit 3');
  if (s.outcome === 'timeout') lines.push('sleep 300');
  return lines.join('\n') + '\n';
}

function setUp(s: Scenario): Project {
  const p = makeProject({
    mode: 'run:out/agent.sh',
    extraToml: `[vcs]\ndirty_action = "${s.action}"`,
    runtime: { round_timeout_s: s.outcome === 'timeout' ? 1 : 60, kill_grace_s: 1 },
  });
  const git = (...a: string[]) => gitBuf(p.dir, a);
  writeFileSync(join(p.dir, '.gitignore'), readFileSync(join(p.dir, '.gitignore'), 'utf8') + '*.ign\n');
  POOL.forEach((name, i) => {
    const r = s.roles[i]!;
    if (r.role === 'tracked') put(p.dir, name, r.base);
  });
  git('add', '-A');
  git('commit', '-qm', 'base');
  // Three passes, so staging and removal are one git call each.
  const toStage: string[] = [];
  const toRm: string[] = [];
  const later: Array<() => void> = [];
  POOL.forEach((name, i) => {
    const r = s.roles[i]!;
    if (r.role === 'tracked') {
      if (r.op === 'modify' || r.op === 'modify_stage' || r.op === 'stage_modify') put(p.dir, name, r.next);
      if (r.op === 'modify_stage' || r.op === 'stage_modify') toStage.push(name);
      if (r.op === 'stage_modify') later.push(() => put(p.dir, name, { content: { kind: 'text', text: 'after staging' }, exec: !r.next.exec }));
      if (r.op === 'delete') rmSync(pathBuf(p.dir, name), { force: true });
      if (r.op === 'rm') toRm.push(name);
      if (r.op === 'chmod' && r.base.content.kind !== 'symlink') chmodSync(pathBuf(p.dir, name), r.base.exec ? 0o644 : 0o755);
    } else if (r.role === 'untracked') {
      put(p.dir, name, r.file);
      if (r.staged !== 'no') toStage.push(name);
      if (r.staged === 'staged_then_modified') later.push(() => put(p.dir, name, r.next));
    }
  });
  const specs = (names: string[]) => Buffer.from(names.map((n) => `:(literal)${n}\0`).join(''), 'latin1');
  if (toStage.length) gitBuf(p.dir, ['add', '--pathspec-from-file=-', '--pathspec-file-nul'], specs(toStage));
  if (toRm.length) gitBuf(p.dir, ['rm', '-q', '--pathspec-from-file=-', '--pathspec-file-nul'], specs(toRm));
  for (const f of later) f();
  if (s.editConfig) writeFileSync(p.config, readFileSync(p.config, 'utf8') + '# the user\'s note\n');
  if (s.editPrompt) writeFileSync(join(p.dir, 'prompt.md'), readFileSync(join(p.dir, 'prompt.md'), 'utf8') + 'The user\'s extra line.\n');
  writeFileSync(join(p.dir, 'keep.ign'), 'ignored, the user\'s\n');
  if (s.nested) {
    const n = join(p.dir, 'nested');
    execFileSync('git', ['init', '-q', n]);
    writeFileSync(join(n, 'inner.txt'), 'inner\n');
    execFileSync('git', ['-C', n, '-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A']);
    execFileSync('git', ['-C', n, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'inner']);
    writeFileSync(join(n, 'inner.txt'), 'inner, uncommitted\n');
    writeFileSync(join(n, 'untracked-inner.txt'), 'x\n');
  }
  writeFileSync(join(p.dir, 'out/agent.sh'), agentScript(s));
  return p;
}

const untouchable = (dir: string): string[] =>
  ['keep.ign', 'nested/inner.txt', 'nested/untracked-inner.txt', 'nested/.git/HEAD', 'nested/.git/index'].map((f) => {
    try {
      return readFileSync(join(dir, f)).toString('base64');
    } catch {
      return 'absent';
    }
  });

async function check(s: Scenario): Promise<void> {
  const p = setUp(s);
  try {
    const pre = userState(p.dir);
    const dirty = [...pre.work].some(([k, v]) => pre.head.get(k) !== v) || [...pre.index].some(([k, v]) => pre.head.get(k) !== v) || [...pre.head.keys()].some((k) => !pre.work.has(k) || !pre.index.has(k));
    const fixed = untouchable(p.dir);
    const result = await runRound(loadConfig(p.config));
    const ref = revParse(p.dir, BEFORE);
    const ctx = JSON.stringify({ action: s.action, outcome: s.outcome, result: result.classification.outcome, dirty: result.dirty });

    // Every byte of uncommitted work: in place, or in the snapshot.
    expect(unrecoverable(p.dir, pre, ref), ctx).toEqual([]);
    expect(ref !== undefined, `${ctx}: a snapshot exists exactly when there was uncommitted work`).toBe(dirty);
    if (ref) expect(readEvents(p.logDir).find((e) => e.event === 'worktree_snapshot')?.['ref'], ctx).toBe(ref);
    // Ignored files and the nested repository: never touched, never in a snapshot.
    expect(untouchable(p.dir), ctx).toEqual(fixed);
    for (const r of [BEFORE, 'refs/agent-runner/orphans/R1']) {
      if (revParse(p.dir, r)) expect([...treeEntries(p.dir, r).keys()].filter((n) => n.startsWith('nested/') || n.endsWith('.ign')), ctx).toEqual([]);
    }
    // Work the agent left alone stays in place, on disk and (unless the agent's staging is ignored) in the index.
    const targeted = new Set(s.targets.map((t) => t.name));
    const now = userState(p.dir);
    for (const name of [...pre.work.keys(), ...pre.index.keys()]) {
      if (targeted.has(name) || name === 'agent-left.txt' || name === 'agent-committed.txt') continue;
      expect(now.work.get(name), `${ctx}: ${JSON.stringify(name)} on disk`).toBe(pre.work.get(name));
      if (!(s.outcome === 'stage_all' && s.action === 'ignore')) expect(now.index.get(name), `${ctx}: ${JSON.stringify(name)} staged`).toBe(pre.index.get(name));
    }
  } finally {
    p.cleanup();
  }
}

describe('user work is sacred (property)', () => {
  it(`random trees × dirty_action × outcome: nothing uncommitted is lost, nothing left alone is moved (seed ${SEED}, ${RUNS} runs)`, async () => {
    await fc.assert(fc.asyncProperty(scenario, check), { seed: SEED, numRuns: RUNS, endOnFailure: true });
  }, 120_000 + RUNS * 30_000);

  it('covers every dirty_action and outcome: each is drawn with equal weight', () => {
    const drawn = fc.sample(scenario, { seed: SEED, numRuns: 400 });
    for (const a of ['stash', 'ignore', 'auto_commit']) expect(drawn.some((d) => d.action === a)).toBe(true);
    for (const o of OUTCOMES) expect(drawn.some((d) => d.outcome === o)).toBe(true);
  });
});
