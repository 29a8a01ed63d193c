// The README's commands and every code block of docs/quickstart.md, executed as written, in a
// scratch HOME with the built CLI on PATH. A block preceded by `<!-- docs-test: skip (why) -->` is
// not run (the reason must say what covers it instead); `<!-- docs-test: expect "TEXT" -->` also
// checks the block's output.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO } from '../helpers/project.js';

interface Block {
  code: string;
  skip?: string;
  expect: string[];
  line: number;
}

function bashBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```bash') continue;
    const markers: string[] = [];
    for (let j = i - 1; j >= 0 && /^<!-- docs-test:/.test(lines[j]!); j--) markers.push(lines[j]!);
    let end = i + 1;
    while (lines[end] !== '```') end++;
    const skip = markers.map((m) => /skip \((.+)\)/.exec(m)?.[1]).find(Boolean);
    out.push({
      code: lines.slice(i + 1, end).join('\n'),
      ...(skip ? { skip } : {}),
      expect: markers.map((m) => /expect "(.+)"/.exec(m)?.[1]).filter((x): x is string => Boolean(x)),
      line: i + 1,
    });
    i = end;
  }
  return out;
}

const sandbox = mkdtempSync(join(tmpdir(), 'ar-docs-'));
afterAll(() => {
  spawnSync(process.execPath, [CLI, 'kill', '--config', join(sandbox, 'home/src/demo-project/agent-runner.toml')]);
  rmSync(sandbox, { recursive: true, force: true });
});
const home = join(sandbox, 'home');
const bin = join(sandbox, 'bin');
mkdirSync(bin, { recursive: true });
mkdirSync(join(home, 'src', 'your-project'), { recursive: true });
writeFileSync(join(bin, 'agent-runner'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
// Stands in for Claude Code: answers --version, reads the prompt on stdin, reports a result.
writeFileSync(
  join(bin, 'claude'),
  `#!/bin/sh\n[ "$1" = "--version" ] && { echo "2.0.0 (Claude Code, stand-in)"; exit 0; }\ncat >/dev/null\necho '{"type":"system","subtype":"init","model":"stand-in"}'\necho '{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":0.01}'\n`,
);
// Stands in for the user's editor: writes a real goal over the template's placeholder.
writeFileSync(join(bin, 'edit-goal'), `#!/bin/sh\nsed -i 's/^Goal: .*/Goal: keep the README accurate./' "$1"\n`);
chmodSync(join(bin, 'edit-goal'), 0o755);
chmodSync(join(bin, 'agent-runner'), 0o755);
chmodSync(join(bin, 'claude'), 0o755);
execFileSync('git', ['init', '-q', join(home, 'src', 'your-project')]);
execFileSync('git', ['-C', join(home, 'src', 'your-project'), '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'empty']);

const env = {
  ...process.env,
  HOME: home,
  PATH: `${bin}:${process.env['PATH']}`,
  EDITOR: 'edit-goal',
  NO_COLOR: '1',
  GIT_AUTHOR_NAME: 'docs',
  GIT_AUTHOR_EMAIL: 'docs@localhost',
  GIT_COMMITTER_NAME: 'docs',
  GIT_COMMITTER_EMAIL: 'docs@localhost',
};

function runBlock(doc: string, b: Block): void {
  const r = spawnSync('bash', ['-eo', 'pipefail', '-c', b.code], { cwd: REPO, env, encoding: 'utf8', timeout: 180_000 });
  expect(r.status, `${doc}:${b.line} failed (exit ${r.status}):\n${b.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`).toBe(0);
  for (const want of b.expect) expect(r.stdout + r.stderr, `${doc}:${b.line} should print "${want}"`).toContain(want);
}

for (const doc of ['README.md', 'docs/quickstart.md']) {
  describe(doc, () => {
    const blocks = bashBlocks(readFileSync(join(REPO, doc), 'utf8'));
    it('has code blocks, and every skipped one says why', () => {
      expect(blocks.length).toBeGreaterThan(0);
      for (const b of blocks.filter((x) => x.skip)) expect(b.skip!.length).toBeGreaterThan(10);
    });
    for (const b of blocks) {
      it.skipIf(Boolean(b.skip))(`line ${b.line}: ${b.code.split('\n')[0]}`, () => runBlock(doc, b), 200_000);
    }
  });
}
