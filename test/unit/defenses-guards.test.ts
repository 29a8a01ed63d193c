import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventWriter } from '../../src/events/writer.js';
import { handleDirtyTree, type BeforeRound } from '../../src/round/dirty.js';
import { dirtyFiles } from '../../src/round/git.js';
import { kinds, makeProject, readEvents, runCli, survivorsOf, waitFor, type EventLine, type Project } from '../helpers/project.js';

/**
 * Guards for the defenses in src/defenses/catalog.ts that no other suite exercises. Real git
 * repositories, real processes, the real event writer.
 */

const REPO = resolve(import.meta.dirname, '../..');
const DIST_ATOMIC = join(REPO, 'dist/util/atomic-write.js');

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function repo(): { dir: string; logDir: string; git: (...a: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'ar-guard-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { encoding: 'utf8' });
  execFileSync('git', ['init', '-q', dir]);
  writeFileSync(join(dir, 'tracked.txt'), 'base\n');
  writeFileSync(join(dir, '.gitignore'), '.state/\n');
  git('add', '-A');
  git('commit', '-qm', 'init');
  return { dir, logDir: join(dir, '.state'), git };
}

/** The round began on a clean tree at HEAD (each test writes its "agent's" work afterwards). */
function cleanBefore(r: ReturnType<typeof repo>): BeforeRound {
  const head = r.git('rev-parse', 'HEAD').trim();
  const tree = r.git('rev-parse', 'HEAD^{tree}').trim();
  return { ok: true, state: { head, headTree: tree, workTree: tree, indexTree: tree } };
}

function snapshot(r: ReturnType<typeof repo>, roundNum: number, idempotencyS = 5) {
  return handleDirtyTree({
    before: cleanBefore(r),
    workDir: r.dir,
    logDir: r.logDir,
    owned: [r.logDir],
    roundNum,
    phase: undefined,
    files: ['tracked.txt'],
    action: 'stash',
    reason: 'clean_exit_with_dirty_tree',
    idempotencyS,
    events: new EventWriter(r.logDir),
  });
}

const ofKind = (ev: EventLine[], k: string) => ev.filter((e) => e.event === k);

describe('orphan_stash_idempotency_s', () => {
  it('the same round\'s identical dirty tree, snapshotted twice within the window, gives one snapshot and orphan_idempotent_skip', async () => {
    const r = repo();
    writeFileSync(join(r.dir, 'tracked.txt'), 'agent work\n');
    const first = await snapshot(r, 1);
    // The tree was cleaned; the same work reappears (a retried preservation of the same round).
    writeFileSync(join(r.dir, 'tracked.txt'), 'agent work\n');
    const second = await snapshot(r, 1);
    expect(first).toMatchObject({ action: 'stash', refName: 'refs/agent-runner/orphans/R1', reused: false });
    expect(second).toMatchObject({ action: 'stash', ref: first.ref, reused: true });
    const ev = readEvents(r.logDir);
    expect(kinds(ev)).toEqual(['orphan_stashed', 'orphan_idempotent_skip']);
    expect(ofKind(ev, 'orphan_idempotent_skip')[0]).toMatchObject({ round_num: 1, ref: first.ref });
    expect(r.git('for-each-ref', '--format=%(refname)', 'refs/agent-runner/').trim().split('\n')).toEqual(['refs/agent-runner/orphans/R1']);
  });

  it('R1 never reuses R12\'s snapshot (upstream matched "ORPHAN R1" as a prefix of "ORPHAN R12")', async () => {
    const r = repo();
    writeFileSync(join(r.dir, 'tracked.txt'), 'same work\n');
    const r12 = await snapshot(r, 12);
    writeFileSync(join(r.dir, 'tracked.txt'), 'same work\n');
    const r1 = await snapshot(r, 1);
    expect(r12.refName).toBe('refs/agent-runner/orphans/R12');
    expect(r1).toMatchObject({ refName: 'refs/agent-runner/orphans/R1', reused: false });
  });

  it('different work in the same round is a new snapshot, never reused', async () => {
    const r = repo();
    writeFileSync(join(r.dir, 'tracked.txt'), 'first\n');
    const a = await snapshot(r, 3);
    writeFileSync(join(r.dir, 'tracked.txt'), 'second\n');
    const b = await snapshot(r, 3);
    expect(b.reused).toBe(false);
    expect(b.ref).not.toBe(a.ref);
    expect(b.refName).toBe('refs/agent-runner/orphans/R3-2');
    expect(r.git('show', `${a.ref}:tracked.txt`)).toBe('first\n');
    expect(r.git('show', `${b.ref}:tracked.txt`)).toBe('second\n');
  });
});

describe('sha_addressed_snapshots', () => {
  it('the agent\'s own stash push neither disturbs our snapshot nor is disturbed by it', async () => {
    const r = repo();
    // The agent stashes something of its own first.
    writeFileSync(join(r.dir, 'tracked.txt'), 'agent stash content\n');
    r.git('stash', 'push', '-q', '-m', 'agent own stash');
    const agentStash = r.git('rev-parse', 'stash@{0}').trim();

    writeFileSync(join(r.dir, 'tracked.txt'), 'orphaned work\n');
    writeFileSync(join(r.dir, 'new-file.txt'), 'untracked work\n');
    const snap = await snapshot(r, 7);
    expect(snap.refName).toBe('refs/agent-runner/orphans/R7');

    // The agent pushes another stash after ours: our ref still names our content.
    writeFileSync(join(r.dir, 'tracked.txt'), 'later agent stash\n');
    r.git('stash', 'push', '-q', '-m', 'agent second stash');
    expect(r.git('rev-parse', 'refs/agent-runner/orphans/R7').trim()).toBe(snap.ref);
    expect(r.git('show', `${snap.ref}:tracked.txt`)).toBe('orphaned work\n');
    expect(r.git('show', `${snap.ref}:new-file.txt`)).toBe('untracked work\n');

    // The stash list holds exactly the agent's two stashes, in the agent's order.
    const list = r.git('stash', 'list', '--format=%H %s').trim().split('\n');
    expect(list).toHaveLength(2);
    expect(list[1]!.split(' ')[0]).toBe(agentStash);
    expect(list.join('\n')).not.toMatch(/agent-runner/);
  });

  it('the snapshot is a commit whose parent is HEAD, reachable only through its ref', async () => {
    const r = repo();
    const head = r.git('rev-parse', 'HEAD').trim();
    writeFileSync(join(r.dir, 'tracked.txt'), 'x\n');
    const snap = await snapshot(r, 2);
    expect(r.git('rev-parse', `${snap.ref}^`).trim()).toBe(head);
    expect(r.git('rev-parse', 'HEAD').trim()).toBe(head);
    expect(r.git('status', '--porcelain').trim()).toBe('');
    expect(r.git('log', '-1', '--format=%B', snap.ref!)).toContain('reason: clean_exit_with_dirty_tree');
  });
});

describe('no_diff_parsing', () => {
  const srcFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? srcFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

  it('no source runs a git command that prints a patch', () => {
    const offenders: string[] = [];
    for (const f of srcFiles(join(REPO, 'src'))) {
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (!/\bgit\(|'git'/.test(line)) return;
          const patchy = /'(diff|show|log|format-patch|whatchanged)'/.test(line) && !/--quiet|--name-only|--name-status|--format=|--stat/.test(line);
          if (patchy || /'(-p|--patch|-u|--unified(=\d+)?)'/.test(line.replace(/'commit-tree'.*'-p'/, ''))) offenders.push(`${relative(REPO, f)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('a rotation-only edit is reported by path, from git status --porcelain, with nothing classified', async () => {
    const r = repo();
    writeFileSync(join(r.dir, 'sections.md'), 'A\nB\nC\n');
    r.git('add', 'sections.md');
    r.git('commit', '-qm', 'sections');
    writeFileSync(join(r.dir, 'sections.md'), 'C\nA\nB\n');
    expect(await dirtyFiles(r.dir, [])).toEqual(['sections.md']);
    expect(r.git('status', '--porcelain').trim()).toBe('M sections.md');
  });
});

describe('atomic_state_writes', () => {
  it('SIGKILL at arbitrary moments never leaves a torn writeJsonAtomic target', async () => {
    expect(existsSync(DIST_ATOMIC), 'build first: npx tsc -p tsconfig.json').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'ar-atomic-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const target = join(dir, 'status.json');
    // ~1 MB per write, so a kill lands inside a write far more often than between writes.
    const script = `
      import { writeJsonAtomic } from ${JSON.stringify(DIST_ATOMIC)};
      const big = 'x'.repeat(1 << 20);
      for (let i = 0; ; i++) writeJsonAtomic(${JSON.stringify(target)}, { i, big });
    `;
    for (let k = 0; k < 8; k++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const closed = new Promise((res) => child.once('close', res));
      // Wait for a write beyond the first (k of them), then kill wherever it happens to be.
      await waitFor(() => {
        try {
          return (JSON.parse(readFileSync(target, 'utf8')) as { i: number }).i >= k;
        } catch {
          return false;
        }
      }, `write ${k}`);
      child.kill('SIGKILL');
      await closed;
      const doc = JSON.parse(readFileSync(target, 'utf8')) as { i: number; big: string };
      expect(doc.big).toHaveLength(1 << 20);
      expect(statSync(target).mode & 0o777).toBe(0o600);
    }
  });

  it('no source writes JSON with a plain writeFileSync', () => {
    const offenders: string[] = [];
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
    for (const f of walk(join(REPO, 'src'))) {
      if (f.endsWith('util/atomic-write.ts')) continue;
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/writeFileSync\(/.test(line) && /JSON\.stringify|\.json['"`]/.test(line)) offenders.push(`${relative(REPO, f)}:${i + 1}`);
        });
    }
    expect(offenders).toEqual([]);
  });
});

describe('idle_timeout', () => {
  const projects: Project[] = [];
  afterEach(() => {
    for (const p of projects.splice(0)) p.cleanup();
  });

  it('a round with no output for idle_timeout_s is killed as a timeout, long before round_timeout_s', async () => {
    const p = makeProject({ mode: 'child;;sleep:300', runtime: { idle_timeout_s: 1, round_timeout_s: 120, kill_grace_s: 1 } });
    projects.push(p);
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(11);
    expect(r.ms).toBeLessThan(15_000);
    const ev = readEvents(p.logDir);
    expect(ofKind(ev, 'round_timeout_kill')[0]).toMatchObject({ reason: 'no output for idle_timeout_s=1' });
    expect(ofKind(ev, 'agent_exit')[0]).toMatchObject({ outcome: 'timeout', timed_out: true });
    expect(survivorsOf(p.testId)).toEqual([]);
  });

  it('output keeps an idle round alive: only silence counts', async () => {
    // Five half-second gaps: 2.5 s in all, past the 2 s idle limit, but never 2 s of silence.
    const p = makeProject({ mode: 'text:a;;sleep:0.5;;text:b;;sleep:0.5;;text:c;;sleep:0.5;;text:d;;sleep:0.5;;text:e;;sleep:0.5;;text:f', runtime: { idle_timeout_s: 2, round_timeout_s: 60 } });
    projects.push(p);
    const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(kinds(readEvents(p.logDir))).not.toContain('round_timeout_kill');
  });
});
