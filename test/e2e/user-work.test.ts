import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvents, readJson, runCli, useProjects, type Project, type ProjectOptions } from '../helpers/project.js';
import { diskEntry, gitBuf, pathBuf, revParse, treeEntries, unrecoverable, userState, workEntries } from '../helpers/worktree.js';

/**
 * User work is sacred (issue 8): whatever the agent and the round do, every byte of the user's
 * uncommitted work from before the round is afterwards in the work tree or in the round's
 * snapshot, refs/agent-runner/orphans/R<N>-before. Real rounds of the built CLI on real repos.
 */

const { project } = useProjects();

const git = (p: Project, ...a: string[]) => execFileSync('git', ['-C', p.dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { encoding: 'utf8' });
const round = (p: Project) => runCli(['round', '--config', p.config], { cwd: p.dir });
const BEFORE = 'refs/agent-runner/orphans/R1-before';
/** The fake agent runs this script (in out/, which is ignored): the agent's own edits. */
function agentScript(opts: ProjectOptions, script: string, mode = ''): Project {
  const p = project({ ...opts, mode: `run:out/agent.sh${mode ? `;;${mode}` : ''}` });
  writeFileSync(join(p.dir, 'out/agent.sh'), `set -e\n${script}\n`);
  return p;
}
const write = (p: Project, name: string | Buffer, content: string | Buffer) => writeFileSync(typeof name === 'string' ? join(p.dir, name) : Buffer.concat([Buffer.from(`${p.dir}/`), name]), content);
const porcelain = (p: Project) => gitBuf(p.dir, ['status', '--porcelain=v1', '-z', '--untracked-files=all']).toString('latin1');

describe('user work is preserved before the round and left in place after it', () => {
  it('staged, unstaged and untracked work the agent leaves alone stays exactly as it was, index included; only the agent\'s leftovers are cleaned', async () => {
    const p = agentScript({}, 'echo agent > agent-left.txt; echo agent >> tracked.txt; git add tracked.txt');
    write(p, 'user.txt', 'committed\n');
    git(p, 'add', 'user.txt');
    git(p, 'commit', '-qm', 'user file');
    write(p, 'user.txt', 'staged\n');
    git(p, 'add', 'user.txt');
    write(p, 'user.txt', 'staged then edited\n');
    write(p, 'new-staged.txt', 'new and staged\n');
    git(p, 'add', 'new-staged.txt');
    write(p, 'notes.txt', 'untracked notes\n');
    const pre = userState(p.dir);
    const diffCached = git(p, 'diff', '--cached', '--name-status', '--', 'user.txt', 'new-staged.txt');
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    expect(unrecoverable(p.dir, pre, undefined)).toEqual([]);
    expect(git(p, 'diff', '--cached', '--name-status', '--', 'user.txt', 'new-staged.txt')).toBe(diffCached);
    expect(readFileSync(join(p.dir, 'notes.txt'), 'utf8')).toBe('untracked notes\n');
    // The agent's own leftovers went to the orphan ref and are gone from the tree.
    expect(existsSync(join(p.dir, 'agent-left.txt'))).toBe(false);
    expect(readFileSync(join(p.dir, 'tracked.txt'), 'utf8')).toBe('base\n');
    expect(git(p, 'show', 'refs/agent-runner/orphans/R1:agent-left.txt')).toBe('agent\n');
    const ev = readEvents(p.logDir);
    const snap = ev.find((e) => e.event === 'worktree_snapshot')!;
    expect(snap).toMatchObject({ round_num: 1, ref_name: BEFORE, ref: revParse(p.dir, BEFORE) });
    expect(snap['files']).toEqual(expect.arrayContaining(['user.txt', 'new-staged.txt', 'notes.txt']));
    expect(readJson(join(p.logDir, 'status.json'))['last_worktree_snapshot']).toBe(snap['ref']);
    // A clean tree needs no snapshot: the next round makes none of its own.
    git(p, 'add', '-A');
    git(p, 'commit', '-qm', 'all');
    expect((await round(p)).code).toBe(0);
    expect(readEvents(p.logDir).filter((e) => e.event === 'worktree_snapshot')).toHaveLength(1);
  });

  it('an agent that overwrites and deletes the user\'s uncommitted work: every byte is in R<N>-before, and `git stash apply --index` brings it all back', async () => {
    const p = agentScript({}, 'echo clobbered > tracked.txt; rm -f notes.txt; echo x > staged.txt; git add staged.txt');
    write(p, 'tracked.txt', 'base\nstaged line\n');
    git(p, 'add', 'tracked.txt');
    write(p, 'tracked.txt', 'base\nstaged line\nunstaged line\n');
    write(p, 'staged.txt', 'user staged\n');
    git(p, 'add', 'staged.txt');
    write(p, 'notes.txt', 'untracked notes\n');
    const pre = userState(p.dir);
    const preStatus = porcelain(p);
    expect((await round(p)).code).toBe(0);
    expect(unrecoverable(p.dir, pre, BEFORE)).toEqual([]);
    expect(git(p, 'show', `${BEFORE}^2:tracked.txt`)).toBe('base\nstaged line\n');
    expect(git(p, 'show', `${BEFORE}:tracked.txt`)).toBe('base\nstaged line\nunstaged line\n');
    // The documented recovery, on the cleaned tree.
    git(p, 'stash', 'apply', '--index', BEFORE);
    expect(porcelain(p)).toBe(preStatus);
    expect(unrecoverable(p.dir, pre, undefined)).toEqual([]);
  });

  it('edits to agent-runner\'s own files (config, prompt) are snapshotted and never reset, even when the agent edits them too', async () => {
    const p = agentScript({}, 'echo "agent prompt line" >> prompt.md; echo agent >> tracked.txt');
    const prompt = readFileSync(join(p.dir, 'prompt.md'), 'utf8') + 'user prompt line\n';
    const config = readFileSync(p.config, 'utf8') + '# user comment\n';
    write(p, 'prompt.md', prompt);
    writeFileSync(p.config, config);
    const pre = userState(p.dir);
    expect((await round(p)).code).toBe(0);
    expect(readFileSync(p.config, 'utf8')).toBe(config);
    expect(readFileSync(join(p.dir, 'prompt.md'), 'utf8')).toBe(prompt + 'agent prompt line\n');
    expect(git(p, 'show', `${BEFORE}:prompt.md`)).toBe(prompt);
    expect(git(p, 'show', `${BEFORE}:agent-runner.toml`)).toBe(config);
    expect(unrecoverable(p.dir, pre, BEFORE)).toEqual([]);
  });

  it('names with spaces, newlines, leading dashes and non-UTF-8 bytes are kept byte for byte, and put back exactly by read-tree + restore', async () => {
    const names = [Buffer.from('with space.txt'), Buffer.from('new\nline.txt'), Buffer.from('-leading-dash'), Buffer.from('--'), Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74])];
    const p = agentScript({}, `for f in *; do case "$f" in agent-runner.toml|prompt.md|out) ;; *) rm -f -- "$f" ;; esac; done`);
    // Tracked and modified, and untracked, for every name.
    for (const n of names) write(p, Buffer.concat([Buffer.from('t'), n]), 'committed\n');
    git(p, 'add', '-A');
    git(p, 'commit', '-qm', 'weird names');
    for (const n of names) {
      write(p, Buffer.concat([Buffer.from('t'), n]), 'modified\n');
      write(p, n, Buffer.concat([Buffer.from('untracked '), n]));
    }
    const pre = userState(p.dir);
    expect([...pre.work.keys()].length).toBeGreaterThanOrEqual(names.length * 2);
    const preStatus = porcelain(p);
    expect((await round(p)).code).toBe(0);
    // The agent deleted them all; the snapshot has every one.
    for (const n of names) expect(existsSync(pathBuf(p.dir, n.toString('latin1')))).toBe(false);
    expect(unrecoverable(p.dir, pre, BEFORE)).toEqual([]);
    // The documented exact recovery: the index as it was, then the files as they were.
    git(p, 'read-tree', `${BEFORE}^2`);
    git(p, 'restore', `--source=${BEFORE}`, '--worktree', '--', '.');
    expect(porcelain(p)).toBe(preStatus);
    expect(unrecoverable(p.dir, pre, undefined)).toEqual([]);
  });

  it('symlinks and the executable bit are recorded as such (120000, 100755) and left in place', async () => {
    const p = agentScript({}, 'echo agent > agent.txt');
    write(p, 'run.sh', '#!/bin/sh\necho hi\n');
    git(p, 'add', 'run.sh');
    git(p, 'commit', '-qm', 'script');
    chmodSync(join(p.dir, 'run.sh'), 0o755); // a mode-only change
    symlinkSync('tracked.txt', join(p.dir, 'link-to-tracked'));
    symlinkSync('/nonexistent/target', join(p.dir, 'dangling'));
    const pre = userState(p.dir);
    expect((await round(p)).code).toBe(0);
    const snap = treeEntries(p.dir, BEFORE);
    expect(snap.get('run.sh')).toMatch(/^100755 /);
    expect(snap.get('link-to-tracked')).toMatch(/^120000 /);
    expect(git(p, 'cat-file', 'blob', `${BEFORE}:dangling`)).toBe('/nonexistent/target');
    expect(diskEntry(p.dir, 'link-to-tracked')).toBe(snap.get('link-to-tracked'));
    expect(diskEntry(p.dir, 'run.sh')).toMatch(/^100755 /);
    expect(unrecoverable(p.dir, pre, undefined)).toEqual([]);
  });

  it('binary and large files survive an agent that overwrites them, byte for byte', async () => {
    const p = agentScript({}, 'head -c 100 /dev/zero > big.bin; echo text > tracked.bin');
    write(p, 'tracked.bin', randomBytes(4096));
    git(p, 'add', 'tracked.bin');
    git(p, 'commit', '-qm', 'binary');
    const big = randomBytes(8 * 1024 * 1024);
    const small = Buffer.concat([randomBytes(1000), Buffer.from([0, 0, 0xff])]);
    write(p, 'big.bin', big);
    write(p, 'tracked.bin', small);
    const pre = userState(p.dir);
    expect((await round(p)).code).toBe(0);
    expect(unrecoverable(p.dir, pre, BEFORE)).toEqual([]);
    expect(gitBuf(p.dir, ['cat-file', 'blob', `${BEFORE}:big.bin`]).equals(big)).toBe(true);
    expect(gitBuf(p.dir, ['cat-file', 'blob', `${BEFORE}:tracked.bin`]).equals(small)).toBe(true);
  });

  it('ignored files, nested repositories and submodules are never snapshotted or touched', async () => {
    const p = agentScript({}, 'echo agent >> tracked.txt; echo agent > nested/agent-in-nested.txt');
    write(p, '.gitignore', readFileSync(join(p.dir, '.gitignore'), 'utf8') + '*.log\n');
    // A submodule (a tracked gitlink) with local changes of its own.
    const upstream = join(p.dir, 'out/sub-upstream');
    execFileSync('git', ['init', '-q', upstream]);
    writeFileSync(join(upstream, 'lib.txt'), 'lib\n');
    execFileSync('git', ['-C', upstream, 'add', '-A']);
    execFileSync('git', ['-C', upstream, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'lib file']);
    git(p, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', upstream, 'sub');
    git(p, 'add', '-A');
    git(p, 'commit', '-qm', 'submodule');
    writeFileSync(join(p.dir, 'sub/lib.txt'), 'changed inside the submodule\n');
    writeFileSync(join(p.dir, 'sub/untracked-in-sub.txt'), 'x\n');
    // An untracked nested repository with its own history and dirt, and an empty one.
    mkdirSync(join(p.dir, 'nested'));
    execFileSync('git', ['init', '-q', join(p.dir, 'nested')]);
    writeFileSync(join(p.dir, 'nested/file.txt'), 'nested\n');
    execFileSync('git', ['-C', join(p.dir, 'nested'), '-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A']);
    execFileSync('git', ['-C', join(p.dir, 'nested'), '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'n']);
    writeFileSync(join(p.dir, 'nested/file.txt'), 'nested, uncommitted\n');
    execFileSync('git', ['init', '-q', join(p.dir, 'empty-nested')]);
    writeFileSync(join(p.dir, 'empty-nested/only.txt'), 'no commit yet\n');
    write(p, 'ignored.log', 'ignored, mine\n');
    write(p, 'user.txt', 'user work\n');
    const fingerprint = () =>
      ['nested/file.txt', 'nested/.git/HEAD', 'nested/.git/index', 'empty-nested/only.txt', 'sub/lib.txt', 'sub/untracked-in-sub.txt', 'ignored.log'].map((f) =>
        existsSync(join(p.dir, f)) ? readFileSync(join(p.dir, f)).toString('base64') : 'absent',
      );
    const before = fingerprint();
    const nestedStatus = execFileSync('git', ['-C', join(p.dir, 'nested'), 'status', '--porcelain'], { encoding: 'utf8' });
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    // The agent's own write inside the nested repo is the nested repo's business: left as is.
    expect(readFileSync(join(p.dir, 'nested/agent-in-nested.txt'), 'utf8')).toBe('agent\n');
    rmSync(join(p.dir, 'nested/agent-in-nested.txt'));
    expect(fingerprint()).toEqual(before);
    expect(execFileSync('git', ['-C', join(p.dir, 'nested'), 'status', '--porcelain'], { encoding: 'utf8' })).toBe(nestedStatus);
    for (const ref of [BEFORE, 'refs/agent-runner/orphans/R1']) {
      const names = [...treeEntries(p.dir, ref).keys()];
      expect(names.filter((n) => /^(nested|empty-nested)\/|\.log$/.test(n)), ref).toEqual([]);
      expect(names).toContain('user.txt');
    }
    expect(readFileSync(join(p.dir, 'user.txt'), 'utf8')).toBe('user work\n');
    expect(readFileSync(join(p.dir, 'tracked.txt'), 'utf8')).toBe('base\n');
  });
});

describe('every dirty_action and outcome keeps the user\'s work', () => {
  it('auto_commit commits only what the round wrote: the user\'s untracked and staged work stays uncommitted, in place', async () => {
    const p = agentScript({ extraToml: '[vcs]\ndirty_action = "auto_commit"' }, 'echo agent > agent.txt; echo agent >> tracked.txt');
    write(p, 'secrets.env', 'TOKEN=mine\n');
    write(p, 'staged.txt', 'staged\n');
    git(p, 'add', 'staged.txt');
    const pre = userState(p.dir);
    expect((await round(p)).code).toBe(0);
    expect(git(p, 'log', '-1', '--format=%s')).toBe('agent-runner auto-commit: R1\n');
    expect(git(p, 'show', '--name-only', '--format=', 'HEAD').split('\n').filter(Boolean).sort()).toEqual(['agent.txt', 'tracked.txt']);
    expect(unrecoverable(p.dir, pre, undefined)).toEqual([]);
    expect(git(p, 'status', '--porcelain')).toBe('A  staged.txt\n?? secrets.env\n');
  });

  it('dirty_action = "ignore" resets nothing; a crashed or timed-out agent\'s victims are in R<N>-before', async () => {
    for (const [extra, mode, outcome] of [
      ['dirty_action = "ignore"', 'exit:0', 'clean'],
      ['dirty_action = "stash"', 'exit:1', 'error'],
      ['dirty_action = "auto_commit"', 'sleep:300', 'timeout'],
    ] as const) {
      const p = agentScript({ extraToml: `[vcs]\n${extra}`, runtime: { round_timeout_s: 1 } }, 'echo clobbered > user.txt; rm -f notes.txt', mode);
      write(p, 'user.txt', 'user work\n');
      write(p, 'notes.txt', 'notes\n');
      const pre = userState(p.dir);
      await round(p);
      expect(readEvents(p.logDir).find((e) => e.event === 'round_end'), `${extra} ${mode}`).toMatchObject({ outcome });
      expect(unrecoverable(p.dir, pre, BEFORE), `${extra} ${mode}`).toEqual([]);
      expect(git(p, 'show', `${BEFORE}:user.txt`)).toBe('user work\n');
    }
  });

  it('when the work tree cannot be preserved before the round (an unmerged index), nothing is reset after it, and events say so', async () => {
    const p = agentScript({}, 'echo agent > agent.txt; echo agent >> tracked.txt');
    const blob = (s: string) => execFileSync('git', ['-C', p.dir, 'hash-object', '-w', '--stdin'], { input: s, encoding: 'utf8' }).trim();
    const info = [1, 2, 3].map((stage) => `100644 ${blob(`stage ${stage}\n`)} ${stage}\tconflict.txt\n`).join('');
    execFileSync('git', ['-C', p.dir, 'update-index', '--index-info'], { input: info });
    write(p, 'conflict.txt', '<<<<<<< ours\n=======\n>>>>>>> theirs\n');
    const pre = userState(p.dir);
    const r = await round(p);
    expect(r.code, r.stderr).toBe(0);
    const ev = readEvents(p.logDir);
    expect(ev.find((e) => e.event === 'worktree_snapshot_failed')).toMatchObject({ round_num: 1, reason: expect.stringMatching(/write-tree/) });
    expect(ev.find((e) => e.event === 'orphan_stash_failed')).toMatchObject({ round_num: 1, reason: expect.stringMatching(/not preserved before the round/) });
    expect(ev.some((e) => e.event === 'orphan_stashed')).toBe(false);
    expect(revParse(p.dir, BEFORE)).toBeUndefined();
    // Nothing was reset: the agent's work and the user's conflict are both still there.
    expect(readFileSync(join(p.dir, 'agent.txt'), 'utf8')).toBe('agent\n');
    expect(readFileSync(join(p.dir, 'tracked.txt'), 'utf8')).toBe('base\nagent\n');
    expect(git(p, 'ls-files', '--stage', '--', 'conflict.txt').split('\n').filter(Boolean)).toHaveLength(3);
    expect(workEntries(p.dir).get('conflict.txt')).toBe(pre.work.get('conflict.txt'));
  });
});
