// The same property through the real CLI, on a sample: arbitrary bytes as the config file make
// every config-loading verb exit 78 with exactly one line on stderr — never exit 1, never a stack.
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCli } from '../helpers/project.js';

const dir = mkdtempSync(join(tmpdir(), 'ar-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('arbitrary config bytes → exit 78, one line, no stack (CLI sample)', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.string({ maxLength: 200 }).map((s) => Buffer.from(`[agent]\ncommand = ${s}\n`))), fc.constantFrom('round', 'status', 'peek', 'serve'), async (bytes, verb) => {
      const file = join(dir, `cfg-${n++}.weird`);
      writeFileSync(file, bytes);
      const r = await runCli([verb, '--config', file], { cwd: dir });
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^agent-runner: \//);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }),
    { numRuns: 40 },
  );
}, 120_000);
