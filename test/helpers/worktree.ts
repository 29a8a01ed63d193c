import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * A repository's files as git would record them, read independently of agent-runner's code:
 * paths are byte strings (latin1, one char per byte) so non-UTF-8 names survive, and an entry is
 * `mode sha` (100644 / 100755 / 120000 and the blob's SHA-1).
 */
export type Entries = Map<string, string>;

export const pathBuf = (dir: string, p: string): Buffer => Buffer.concat([Buffer.from(`${dir}/`, 'utf8'), Buffer.from(p, 'latin1')]);

export function gitBuf(dir: string, args: string[], input?: Buffer): Buffer {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { input: input ?? Buffer.alloc(0), maxBuffer: 256 * 1024 * 1024 });
}

const splitZ = (b: Buffer): string[] => {
  const r = b.toString('latin1').split('\0');
  if (r.at(-1) === '') r.pop();
  return r;
};

function blobSha(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** One file on disk as a tree entry, or undefined when absent (or a directory). */
export function diskEntry(dir: string, p: string): string | undefined {
  const abs = pathBuf(dir, p);
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return `120000 ${blobSha(readlinkSync(abs, { encoding: 'buffer' }))}`;
  if (!st.isFile()) return undefined;
  return `${st.mode & 0o111 ? '100755' : '100644'} ${blobSha(readFileSync(abs))}`;
}

/** Every tracked or untracked, not ignored file on disk (nested repositories and their files excluded). */
export function workEntries(dir: string, skipPrefix?: string): Entries {
  const out: Entries = new Map();
  for (const p of splitZ(gitBuf(dir, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']))) {
    if (p.endsWith('/') || out.has(p) || (skipPrefix && p.startsWith(skipPrefix))) continue;
    const e = diskEntry(dir, p);
    if (e && !e.startsWith('160000')) out.set(p, e);
  }
  return out;
}

/** The index's stage-0 entries (gitlinks left out). */
export function indexEntries(dir: string): Entries {
  const out: Entries = new Map();
  for (const rec of splitZ(gitBuf(dir, ['ls-files', '-z', '--stage']))) {
    const [meta, p] = [rec.slice(0, rec.indexOf('\t')), rec.slice(rec.indexOf('\t') + 1)];
    const [mode, sha] = meta.split(' ');
    if (mode !== '160000') out.set(p, `${mode!} ${sha!}`);
  }
  return out;
}

/** A tree's blobs (gitlinks left out). */
export function treeEntries(dir: string, rev: string): Entries {
  const out: Entries = new Map();
  for (const rec of splitZ(gitBuf(dir, ['ls-tree', '-r', '-z', '--full-tree', rev]))) {
    const [meta, p] = [rec.slice(0, rec.indexOf('\t')), rec.slice(rec.indexOf('\t') + 1)];
    const [mode, , sha] = meta.split(' ');
    if (mode !== '160000') out.set(p, `${mode!} ${sha!}`);
  }
  return out;
}

export function revParse(dir: string, rev: string): string | undefined {
  try {
    return gitBuf(dir, ['rev-parse', '--verify', '-q', rev]).toString().trim();
  } catch {
    return undefined;
  }
}

/** The user's state before a round: files on disk, staged entries, and the paths HEAD tracks. */
export interface UserState {
  work: Entries;
  index: Entries;
  head: Entries;
}

export function userState(dir: string, skipPrefix?: string): UserState {
  return { work: workEntries(dir, skipPrefix), index: indexEntries(dir), head: revParse(dir, 'HEAD') ? treeEntries(dir, 'HEAD') : new Map() };
}

const show = (p: string) => JSON.stringify(Buffer.from(p, 'latin1').toString('utf8'));

/**
 * Every path's uncommitted pre-round content (a file, its absence, what was staged) is either as it was, or
 * recorded in the snapshot `ref`: its tree for the work tree, its second parent for the index.
 * Returns the violations, one line each.
 */
export function unrecoverable(dir: string, pre: UserState, ref: string | undefined, skipPrefix?: string): string[] {
  const now = userState(dir, skipPrefix);
  const snapWork = ref ? treeEntries(dir, ref) : undefined;
  const snapIndex = ref ? treeEntries(dir, `${ref}^2`) : undefined;
  const bad: string[] = [];
  const paths = new Set([...pre.work.keys(), ...pre.index.keys(), ...pre.head.keys()]);
  for (const p of paths) {
    // Content equal to HEAD's is committed work: the commit keeps it.
    const w = pre.work.get(p);
    if (w !== pre.head.get(p) && now.work.get(p) !== w && (!snapWork || snapWork.get(p) !== w)) bad.push(`work tree ${show(p)}: was ${w ?? 'absent'}, now ${now.work.get(p) ?? 'absent'}, snapshot ${snapWork ? (snapWork.get(p) ?? 'absent') : 'none'}`);
    const i = pre.index.get(p);
    if (i !== pre.head.get(p) && now.index.get(p) !== i && (!snapIndex || snapIndex.get(p) !== i)) bad.push(`index ${show(p)}: was ${i ?? 'absent'}, now ${now.index.get(p) ?? 'absent'}, snapshot ${snapIndex ? (snapIndex.get(p) ?? 'absent') : 'none'}`);
  }
  return bad;
}
