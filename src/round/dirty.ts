import { copyFileSync, existsSync, lstatSync, realpathSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { EventSink } from '../events/writer.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';
import { stateFiles } from '../state/files.js';
import { display, git, gitRaw, splitZ, toBytes } from './git.js';

export const ORPHAN_REF_PREFIX = 'refs/agent-runner/orphans/';

export type DirtyAction = 'stash' | 'ignore' | 'auto_commit';

export interface DirtyOutcome {
  action: DirtyAction | 'failed';
  ref?: string;
  refName?: string;
  reused?: boolean;
  reason?: string;
}

/** Identity for our own snapshot commits, so they work on machines with no git identity set. */
const SNAPSHOT_ENV = {
  GIT_AUTHOR_NAME: 'agent-runner',
  GIT_AUTHOR_EMAIL: 'agent-runner@localhost',
  GIT_COMMITTER_NAME: 'agent-runner',
  GIT_COMMITTER_EMAIL: 'agent-runner@localhost',
};

const GITLINK = '160000';

/**
 * A repository at one moment, as trees, read without changing the work tree, the index or any
 * ref: `workTree` is every tracked file and every untracked, not ignored file as it is on disk;
 * `indexTree` is what was staged. Ignored files and nested repositories are in neither.
 */
export interface TreeState {
  /** HEAD's commit, null on an unborn branch. */
  head: string | null;
  headTree: string;
  workTree: string;
  indexTree: string;
}

/**
 * What the round found before it spawned the agent: the trees, and the snapshot commit when
 * there was uncommitted work — or why they could not be read, in which case nothing is reset or
 * committed after the round.
 */
export type BeforeRound =
  | { ok: true; state: TreeState; commit?: string; refName?: string }
  | { ok: false; reason: string };

let tempSeq = 0;

/**
 * Read the repository's state into trees through a temporary index, a copy of the user's (so its
 * staged entries and stat cache carry over; the user's own index file is only read). Untracked
 * files are named one by one, NUL-separated and literal: any byte in a name is safe, and a nested
 * repository (listed as `dir/`) is never entered. `logDir`, agent-runner's state, is left out.
 */
export async function captureState(workDir: string, logDir: string): Promise<TreeState> {
  return (await captureAt(workDir, logDir)).state;
}

/** captureState, plus the repository's top directory (every path below is relative to it). */
async function captureAt(workDir: string, logDir: string): Promise<{ top: string; state: TreeState }> {
  // One call in the usual case; an unborn branch (no HEAD yet) takes a second.
  const withHead = await git(workDir, ['rev-parse', '--show-toplevel', '--git-path', 'index', 'HEAD^{commit}', 'HEAD^{tree}']);
  const lines = (withHead.exitCode === 0 ? withHead.stdout : must(await git(workDir, ['rev-parse', '--show-toplevel', '--git-path', 'index']), 'rev-parse')).trim().split('\n');
  const [top, gitIndex] = lines;
  const headSha = withHead.exitCode === 0 ? lines[2]! : null;
  const headTree = withHead.exitCode === 0 ? lines[3]! : await emptyTree(top!);
  // Nothing uncommitted at all (the common case between rounds): the trees are HEAD's.
  const status = mustRaw(await gitRaw(top!, ['status', '--porcelain', '-z', '--untracked-files=all']), 'status');
  if (status.length === 0) return { top: top!, state: { head: headSha, headTree, workTree: headTree, indexTree: headTree } };
  // --git-path is relative to the directory git ran in.
  const indexPath = resolve(workDir, gitIndex!);
  const temp = join(dirname(indexPath), `agent-runner-index-${process.pid}-${++tempSeq}`);
  const env = { GIT_INDEX_FILE: temp };
  try {
    if (existsSync(indexPath)) copyFileSync(indexPath, temp);
    // An unmerged index has no tree: write-tree fails, and with it the snapshot (nothing is reset).
    const indexTree = mustRaw(await gitRaw(top!, ['write-tree'], { env }), 'write-tree (index)').toString().trim();
    mustRaw(await gitRaw(top!, ['add', '--update'], { env }), 'add --update');
    const logRel = inside(top!, logDir);
    const untracked = splitZ(mustRaw(await gitRaw(top!, ['ls-files', '-z', '--others', '--exclude-standard'], { env }), 'ls-files')).filter(
      (p) => !p.endsWith('/') && !(logRel !== undefined && isUnder(p, logRel)),
    );
    if (untracked.length) {
      const specs = toBytes(untracked.map((p) => `:(literal)${p}\0`).join(''));
      mustRaw(await gitRaw(top!, ['add', '--pathspec-from-file=-', '--pathspec-file-nul'], { env, input: specs }), 'add (untracked)');
    }
    const workTree = mustRaw(await gitRaw(top!, ['write-tree'], { env }), 'write-tree (work tree)').toString().trim();
    return { top: top!, state: { head: headSha, headTree, workTree, indexTree } };
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * A commit shaped like `git stash` makes one: its tree is the work tree (untracked files
 * included), its first parent HEAD, its second a commit of the index. So `git stash apply --index
 * <sha>` gives a user everything back, staged and unstaged, and `git checkout <sha> -- path` one file.
 */
async function stashLikeCommit(top: string, s: TreeState, message: string): Promise<string> {
  const base = s.head ? ['-p', s.head] : [];
  const index = must(await git(top, ['commit-tree', '--no-gpg-sign', s.indexTree, ...base, '-m', `index of: ${message.split('\n')[0]!}`], SNAPSHOT_ENV), 'commit-tree').trim();
  return must(await git(top, ['commit-tree', '--no-gpg-sign', s.workTree, ...base, '-p', index, '-m', message], SNAPSHOT_ENV), 'commit-tree').trim();
}

/** Name a commit under `base` (then base-2, base-3 …), never moving an existing ref. */
async function storeRef(top: string, base: string, sha: string): Promise<string> {
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}-${k}`;
    // The all-zero old value: the update fails if the name is taken, and we try the next one.
    const r = await git(top, ['update-ref', name, sha, '0'.repeat(sha.length)]);
    if (r.exitCode === 0) return name;
    if (k > 50) must(r, 'update-ref');
  }
}

/**
 * Before the agent runs: read the user's state and, when anything is uncommitted (agent-runner's
 * config and prompts included), keep it as a commit under refs/agent-runner/orphans/R<N>-before.
 * Whatever the agent then does to the tree, the user's bytes are recoverable from that ref.
 */
export async function preserveBeforeRound(opts: { workDir: string; logDir: string; roundNum: number; phase: string | undefined; events: EventSink }): Promise<BeforeRound> {
  const { roundNum, events } = opts;
  try {
    const { top, state } = await captureAt(opts.workDir, opts.logDir);
    if (state.workTree === state.headTree && state.indexTree === state.headTree) return { ok: true, state };
    const message = `agent-runner snapshot R${roundNum}${opts.phase ? ` phase=${opts.phase}` : ''} before the round ts=${isoNow()}\n\nreason: uncommitted work before the round\n`;
    const commit = await stashLikeCommit(top, state, message);
    const refName = await storeRef(top, `${ORPHAN_REF_PREFIX}R${roundNum}-before`, commit);
    // For people: the paths that differ on disk (or, if none do, in the index).
    let files = await changedPaths(top, state.headTree, state.workTree);
    if (!files.length) files = await changedPaths(top, state.headTree, state.indexTree);
    events.emit('worktree_snapshot', { round_num: roundNum, ref: commit, ref_name: refName, index_tree: state.indexTree, files: files.slice(0, 20).map(display) });
    return { ok: true, state, commit, refName };
  } catch (err) {
    const reason = (err as Error).message.slice(0, 200);
    events.emit('worktree_snapshot_failed', { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { ok: false, reason };
  }
}

/** The status.json form of a BeforeRound (so a successor recovering the round can use it). */
export function beforeForStatus(b: BeforeRound): Record<string, string | null> {
  if (!b.ok) return { failed: b.reason };
  return { head: b.state.head, head_tree: b.state.headTree, work_tree: b.state.workTree, index_tree: b.state.indexTree, ...(b.commit ? { ref: b.commit, ref_name: b.refName ?? null } : {}) };
}

/** Back from status.json; anything malformed counts as "not preserved" (nothing will be reset). */
export function beforeFromStatus(v: unknown): BeforeRound {
  const o = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const sha = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{40,64}$/.test(x);
  if (sha(o['head_tree']) && sha(o['work_tree']) && sha(o['index_tree']) && (o['head'] === null || sha(o['head']))) {
    return {
      ok: true,
      state: { head: o['head'], headTree: o['head_tree'], workTree: o['work_tree'], indexTree: o['index_tree'] },
      ...(sha(o['ref']) ? { commit: o['ref'] } : {}),
      ...(typeof o['ref_name'] === 'string' ? { refName: o['ref_name'] } : {}),
    };
  }
  return { ok: false, reason: typeof o['failed'] === 'string' ? o['failed'] : 'no record of the work tree before the round' };
}

interface RawEntry {
  oldMode: string;
  newMode: string;
  oldSha: string;
  newSha: string;
  status: string;
}

/** `diff-tree --raw` between two trees, by path (byte string). Modes and SHAs only, never content. */
async function rawDiff(top: string, a: string, b: string): Promise<Map<string, RawEntry>> {
  const out = new Map<string, RawEntry>();
  if (a === b) return out;
  const recs = splitZ(mustRaw(await gitRaw(top, ['diff-tree', '-r', '-z', '--raw', '--no-renames', a, b]), 'diff-tree'));
  for (let i = 0; i + 1 < recs.length; i += 2) {
    const [oldMode, newMode, oldSha, newSha, status] = recs[i]!.slice(1).split(' ');
    out.set(recs[i + 1]!, { oldMode: oldMode!, newMode: newMode!, oldSha: oldSha!, newSha: newSha!, status: status! });
  }
  return out;
}

async function changedPaths(top: string, a: string, b: string): Promise<string[]> {
  return [...(await rawDiff(top, a, b)).keys()];
}

/**
 * What the round changed and left uncommitted. `reset`: paths whose content on disk changed during
 * the round and differs from HEAD now (back to HEAD, index and disk). `restage`: paths whose
 * staged entry alone changed (the agent ran `git add`): the entry goes back to what the user had
 * staged, the file is not touched. Work that predates the round and that the round left alone is
 * in neither, nor are agent-runner's own files and submodules.
 */
async function roundChanges(top: string, before: TreeState, after: TreeState, owned: readonly string[]) {
  const changedOnDisk = new Set(await changedPaths(top, before.workTree, after.workTree));
  const changedStaged = await rawDiff(top, after.indexTree, before.indexTree);
  const work = await rawDiff(top, after.headTree, after.workTree);
  const index = await rawDiff(top, after.headTree, after.indexTree);
  const isGitlink = (e: RawEntry | undefined) => e !== undefined && (e.oldMode === GITLINK || e.newMode === GITLINK);
  const eligible = (p: string) => (work.has(p) || index.has(p)) && !isGitlink(work.get(p)) && !isGitlink(index.get(p)) && !isGitlink(changedStaged.get(p));
  // agent-runner's own files keep what is on disk (your edit between rounds is the next round's
  // input); only an entry the round staged for one goes back.
  const reset = [...changedOnDisk].filter((p) => eligible(p) && !owned.some((o) => isUnder(p, o)));
  const restage = [...changedStaged.keys()].filter((p) => !changedOnDisk.has(p) && eligible(p));
  // Index entries as the user had them (mode 0 removes one the user did not have).
  const restageInfo = restage.map((p) => {
    const e = changedStaged.get(p)!;
    return `${e.newMode} ${e.newSha}\t${p}\0`;
  });
  return { reset, restage, restageInfo, work, index };
}

type RoundChanges = Awaited<ReturnType<typeof roundChanges>>;

/**
 * Undo the round's uncommitted changes and nothing else: `reset` paths back to HEAD in the index
 * and on disk, `restage` entries back to what was staged before. Other staged entries, other
 * files, ignored files and nested repositories are not touched.
 */
async function restorePaths(top: string, c: RoundChanges): Promise<void> {
  const info: string[] = [...c.restageInfo];
  const checkout: string[] = [];
  const remove: string[] = [];
  for (const p of c.reset) {
    const i = c.index.get(p);
    // Mode 0 (a path new since HEAD) removes the entry.
    if (i) info.push(`${i.oldMode} ${i.oldSha}\t${p}\0`);
    const w = c.work.get(p);
    if (w) (w.status === 'A' ? remove : checkout).push(p);
  }
  if (info.length) mustRaw(await gitRaw(top, ['update-index', '-z', '--index-info'], { input: toBytes(info.join('')) }), 'update-index');
  if (checkout.length) mustRaw(await gitRaw(top, ['checkout-index', '-f', '-z', '--stdin'], { input: toBytes(checkout.map((p) => `${p}\0`).join('')) }), 'checkout-index');
  for (const p of remove) {
    const abs = Buffer.concat([Buffer.from(`${top}/`, 'utf8'), toBytes(p)]);
    try {
      if (lstatSync(abs).isDirectory()) continue;
      unlinkSync(abs);
    } catch {
      continue;
    }
    // Directories the removed file leaves empty go too, as `git clean -d` would; never the top.
    for (let d = dirnameBytes(p); d; d = dirnameBytes(d)) {
      try {
        rmdirSync(Buffer.concat([Buffer.from(`${top}/`, 'utf8'), toBytes(d)]));
      } catch {
        break;
      }
    }
  }
}

/**
 * After the round, per `dirty_action`. `stash` keeps what the round changed as a commit under
 * refs/agent-runner/orphans/R<N> and then puts exactly those paths back to HEAD; `auto_commit`
 * commits exactly those paths; `ignore` only records. Work that predates the round stays where it
 * is, staged or not. Nothing is reset or committed unless the state before the round is known.
 */
export async function handleDirtyTree(opts: {
  workDir: string;
  logDir: string;
  /** agent-runner's own paths inside the tree (log dir, config, prompts): snapshotted, never reset or committed. */
  owned: readonly string[];
  roundNum: number;
  phase: string | undefined;
  files: string[];
  action: DirtyAction;
  reason: string;
  idempotencyS: number;
  events: EventSink;
  /** The tree before the round (preserveBeforeRound); without it nothing is reset. */
  before: BeforeRound | undefined;
}): Promise<DirtyOutcome> {
  const { events, roundNum, files } = opts;
  if (opts.action === 'ignore') return { action: 'ignore' };
  const failedKind = opts.action === 'auto_commit' ? 'dirty_commit_failed' : 'orphan_stash_failed';
  const before = opts.before ?? { ok: false as const, reason: 'no record of the work tree before the round' };
  if (!before.ok) {
    const reason = `the work tree was not preserved before the round (${before.reason}): left as it is`.slice(0, 200);
    events.emit(failedKind, { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { action: 'failed', reason };
  }
  let top: string;
  let after: TreeState;
  let changes: RoundChanges;
  try {
    ({ top, state: after } = await captureAt(opts.workDir, opts.logDir));
    changes = await roundChanges(top, before.state, after, ownedRel(top, opts.owned));
  } catch (err) {
    const reason = (err as Error).message.slice(0, 200);
    events.emit(failedKind, { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { action: 'failed', reason };
  }
  if (!changes.reset.length && !changes.restage.length) return { action: 'ignore', reason: 'the round left nothing uncommitted: what is dirty predates it' };
  if (opts.action === 'auto_commit') return autoCommit(opts, top, after, changes);

  let snap: { sha: string; refName: string; reused: boolean; message: string };
  try {
    snap = await storeOrphan(top, opts, after);
  } catch (err) {
    const reason = (err as Error).message.slice(0, 200);
    events.emit('orphan_stash_failed', { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { action: 'failed', reason };
  }
  if (snap.reused) {
    events.emit('orphan_idempotent_skip', { round_num: roundNum, ref: snap.sha, reason: `snapshot of R${roundNum} within ${opts.idempotencyS}s` });
  } else {
    events.emit('orphan_stashed', { round_num: roundNum, ref: snap.sha, ref_name: snap.refName, reason: opts.reason, files: files.slice(0, 20) });
  }
  writeJsonAtomic(stateFiles(opts.logDir).orphan, {
    round_num: roundNum,
    files: files.slice(0, 200),
    stashed_ref: snap.sha,
    ref_name: snap.refName,
    stash_message: snap.message,
    timestamp: isoNow(),
    ...(opts.phase ? { phase: opts.phase } : {}),
  });
  try {
    // Only now, with the snapshot safely in a ref.
    await restorePaths(top, changes);
  } catch (err) {
    const reason = `preserved at ${snap.refName}, but putting the tree back failed: ${(err as Error).message}`.slice(0, 200);
    events.emit('orphan_stash_failed', { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { action: 'failed', ref: snap.sha, refName: snap.refName, reason };
  }
  return { action: 'stash', ref: snap.sha, refName: snap.refName, reused: snap.reused };
}

async function storeOrphan(
  top: string,
  opts: { roundNum: number; phase: string | undefined; reason: string; idempotencyS: number },
  after: TreeState,
): Promise<{ sha: string; refName: string; reused: boolean; message: string }> {
  // Idempotency: the same round's snapshot of the same tree, moments ago, is reused.
  const base = `${ORPHAN_REF_PREFIX}R${opts.roundNum}`;
  const existing = await git(top, ['log', '-1', '--format=%H %T %ct', base, '--']);
  if (existing.exitCode === 0 && existing.stdout.trim()) {
    const [sha, t, ct] = existing.stdout.trim().split(' ');
    if (t === after.workTree && Date.now() / 1000 - Number(ct) <= opts.idempotencyS) return { sha: sha!, refName: base, reused: true, message: '' };
  }
  const message = `agent-runner orphan R${opts.roundNum}${opts.phase ? ` phase=${opts.phase}` : ''} ts=${isoNow()}\n\nreason: ${opts.reason}\n`;
  const sha = await stashLikeCommit(top, after, message);
  const refName = await storeRef(top, base, sha);
  return { sha, refName, reused: false, message: message.split('\n')[0]! };
}

/** Commit what the round changed, and only that, on top of HEAD; the user's other work stays uncommitted. */
async function autoCommit(
  opts: { roundNum: number; phase: string | undefined; files: string[]; events: EventSink },
  top: string,
  after: TreeState,
  changes: RoundChanges,
): Promise<DirtyOutcome> {
  const { events, roundNum } = opts;
  const indexPath = resolve(top, must(await git(top, ['rev-parse', '--git-path', 'index']), 'rev-parse').trim());
  const tempIndex = join(dirname(indexPath), `agent-runner-index-${process.pid}-${++tempSeq}`);
  try {
    // The files the round wrote, as they are on disk; a path it only staged goes back to the user's entry.
    const entries = changes.reset.map((p) => {
      const w = changes.work.get(p);
      if (w) return `${w.newMode} ${w.newSha}\t${p}\0`;
      const i = changes.index.get(p)!;
      return `${i.oldMode} ${i.oldSha}\t${p}\0`;
    });
    const env = { GIT_INDEX_FILE: tempIndex };
    mustRaw(await gitRaw(top, ['read-tree', after.headTree], { env }), 'read-tree');
    if (entries.length) mustRaw(await gitRaw(top, ['update-index', '-z', '--index-info'], { env, input: toBytes(entries.join('')) }), 'update-index');
    const tree = mustRaw(await gitRaw(top, ['write-tree'], { env }), 'write-tree').toString().trim();
    let sha: string | undefined;
    if (tree !== after.headTree) {
      const hasIdentity = (await git(top, ['config', 'user.email'])).stdout.trim() !== '';
      const subject = `agent-runner auto-commit: R${roundNum}${opts.phase ? ` ${opts.phase}` : ''}`;
      sha = must(await git(top, ['commit-tree', '--no-gpg-sign', tree, ...(after.head ? ['-p', after.head] : []), '-m', subject], hasIdentity ? {} : SNAPSHOT_ENV), 'commit-tree').trim();
      // Compare-and-swap: if HEAD moved since the tree was read, nothing is committed.
      must(await git(top, ['update-ref', '-m', subject, 'HEAD', sha, after.head ?? '0'.repeat(sha.length)]), 'update-ref');
    }
    // The user's index: committed paths match HEAD, restaged ones are as before; nothing else changes.
    const info = [...entries, ...changes.restageInfo];
    if (info.length) mustRaw(await gitRaw(top, ['update-index', '-z', '--index-info'], { input: toBytes(info.join('')) }), 'update-index');
    if (!sha) return { action: 'ignore', reason: 'nothing to commit' };
    events.emit('dirty_auto_committed', { round_num: roundNum, files: opts.files.slice(0, 20), ref: sha });
    return { action: 'auto_commit', ref: sha };
  } catch (err) {
    const reason = (err as Error).message.slice(0, 200);
    events.emit('dirty_commit_failed', { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { action: 'failed', reason };
  } finally {
    rmSync(tempIndex, { force: true });
  }
}

async function emptyTree(top: string): Promise<string> {
  return mustRaw(await gitRaw(top, ['mktree']), 'mktree').toString().trim();
}

/** agent-runner's own paths as byte-string paths relative to the repository top (those inside it). */
function ownedRel(top: string, owned: readonly string[]): string[] {
  return owned.map((o) => inside(top, o)).filter((r): r is string => r !== undefined);
}

function inside(top: string, p: string): string | undefined {
  let real = resolve(p);
  try {
    real = realpathSync(real);
  } catch {
    /* not there (yet): as configured */
  }
  const rel = relative(top, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  // Node paths are UTF-8 strings; git's are bytes.
  return Buffer.from(rel, 'utf8').toString('latin1');
}

const isUnder = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
const dirnameBytes = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

function must(r: { exitCode: number; stdout: string; stderr: string }, step: string): string {
  if (r.exitCode !== 0) throw new Error(`git ${step} failed: ${r.stderr.trim().slice(0, 200)}`);
  return r.stdout;
}

function mustRaw(r: { exitCode: number; stdout: Buffer; stderr: string }, step: string): Buffer {
  if (r.exitCode !== 0) throw new Error(`git ${step} failed: ${r.stderr.trim().slice(0, 200)}`);
  return r.stdout;
}
