import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { EventSink } from '../events/writer.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { isoNow } from '../util/time.js';
import { stateFiles } from '../state/files.js';
import { excludeOwnedForAdd, git } from './git.js';

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

/**
 * Preserve a dirty tree as a commit object under refs/agent-runner/orphans/R<N>, built through a
 * temporary index (the user's index and stash list are never touched), then clean the tree. The
 * ref is the SHA's only name: nothing index-based (stash@{N}) can drift under concurrency.
 */
export async function snapshotDirtyTree(opts: {
  workDir: string;
  logDir: string;
  owned: readonly string[];
  roundNum: number;
  phase: string | undefined;
  reason: string;
  idempotencyS: number;
}): Promise<{ sha: string; refName: string; reused: boolean; message: string }> {
  const { workDir, roundNum } = opts;
  const exclude = await excludeOwnedForAdd(workDir, opts.owned);
  const index = join(tmpdir(), `agent-runner-index-${process.pid}-${Date.now()}`);
  const env = { ...SNAPSHOT_ENV, GIT_INDEX_FILE: index };
  try {
    const head = await git(workDir, ['rev-parse', '--verify', '-q', 'HEAD']);
    const parent = head.exitCode === 0 ? head.stdout.trim() : undefined;
    if (parent) must(await git(workDir, ['read-tree', parent], env), 'read-tree');
    must(await git(workDir, ['add', '-A', '--', '.', ...exclude], env), 'add');
    const tree = must(await git(workDir, ['write-tree'], env), 'write-tree').trim();

    // Idempotency: the same round's snapshot of the same tree, moments ago, is reused.
    const base = `${ORPHAN_REF_PREFIX}R${roundNum}`;
    const existing = await git(workDir, ['log', '-1', '--format=%H %T %ct', base, '--']);
    if (existing.exitCode === 0 && existing.stdout.trim()) {
      const [sha, t, ct] = existing.stdout.trim().split(' ');
      if (t === tree && Date.now() / 1000 - Number(ct) <= opts.idempotencyS) {
        await cleanTree(workDir, exclude);
        return { sha: sha!, refName: base, reused: true, message: '' };
      }
    }
    const message = `agent-runner orphan R${roundNum}${opts.phase ? ` phase=${opts.phase}` : ''} ts=${isoNow()}\n\nreason: ${opts.reason}\n`;
    const sha = must(await git(workDir, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], env), 'commit-tree').trim();
    let refName = base;
    for (let k = 2; (await git(workDir, ['show-ref', '--verify', '-q', refName])).exitCode === 0; k++) refName = `${base}-${k}`;
    must(await git(workDir, ['update-ref', refName, sha]), 'update-ref');
    await cleanTree(workDir, exclude);
    return { sha, refName, reused: false, message: message.split('\n')[0]! };
  } finally {
    rmSync(index, { force: true });
  }
}

/** Back to HEAD: tracked changes reverted, untracked files removed (ignored files stay). */
async function cleanTree(workDir: string, exclude: string[]): Promise<void> {
  const head = await git(workDir, ['rev-parse', '--verify', '-q', 'HEAD']);
  if (head.exitCode === 0) must(await git(workDir, ['reset', '-q', '--hard', 'HEAD']), 'reset');
  must(await git(workDir, ['clean', '-fdq', '--', '.', ...exclude]), 'clean');
}

function must(r: { exitCode: number; stdout: string; stderr: string }, step: string): string {
  if (r.exitCode !== 0) throw new Error(`git ${step} failed: ${r.stderr.trim().slice(0, 200)}`);
  return r.stdout;
}

export async function autoCommit(opts: { workDir: string; owned: readonly string[]; roundNum: number; phase: string | undefined }): Promise<string> {
  const exclude = await excludeOwnedForAdd(opts.workDir, opts.owned);
  must(await git(opts.workDir, ['add', '-A', '--', '.', ...exclude]), 'add');
  const staged = await git(opts.workDir, ['diff', '--cached', '--quiet']);
  if (staged.exitCode === 0) return '';
  const hasIdentity = (await git(opts.workDir, ['config', 'user.email'])).stdout.trim() !== '';
  must(
    await git(
      opts.workDir,
      ['-c', 'commit.gpgsign=false', 'commit', '-q', '-m', `agent-runner auto-commit: R${opts.roundNum}${opts.phase ? ` ${opts.phase}` : ''}`],
      hasIdentity ? {} : SNAPSHOT_ENV,
    ),
    'commit',
  );
  return must(await git(opts.workDir, ['rev-parse', 'HEAD']), 'rev-parse').trim();
}

/** Apply the configured action to a dirty tree, recording every step as events. */
export async function handleDirtyTree(opts: {
  workDir: string;
  logDir: string;
  /** agent-runner's own paths inside the tree (log dir, config): never snapshotted or cleaned. */
  owned: readonly string[];
  roundNum: number;
  phase: string | undefined;
  files: string[];
  action: DirtyAction;
  reason: string;
  idempotencyS: number;
  events: EventSink;
}): Promise<DirtyOutcome> {
  const { events, roundNum, files } = opts;
  if (opts.action === 'ignore') return { action: 'ignore' };
  if (opts.action === 'auto_commit') {
    try {
      const ref = await autoCommit(opts);
      if (!ref) return { action: 'ignore', reason: 'nothing to commit outside agent-runner\'s own files' };
      events.emit('dirty_auto_committed', { round_num: roundNum, files: files.slice(0, 20), ref });
      return { action: 'auto_commit', ref };
    } catch (err) {
      const reason = (err as Error).message.slice(0, 200);
      events.emit('dirty_commit_failed', { round_num: roundNum, phase: opts.phase ?? null, reason });
      return { action: 'failed', reason };
    }
  }
  try {
    const snap = await snapshotDirtyTree(opts);
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
    return { action: 'stash', ref: snap.sha, refName: snap.refName, reused: snap.reused };
  } catch (err) {
    const reason = (err as Error).message.slice(0, 200);
    events.emit('orphan_stash_failed', { round_num: roundNum, phase: opts.phase ?? null, reason });
    return { action: 'failed', reason };
  }
}
