import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assemblePromptBody, contextBlock, stripFrontmatter } from '../../src/round/prompt.js';

describe('stripFrontmatter', () => {
  it.each([
    ['a simple block', '---\na: b\n---\nbody', 'body'],
    ['the R721 prompt: frontmatter then text', '---\ntitle: common\ntags: [x]\n---\n\n# Task\nDo it.\n', '# Task\nDo it.\n'],
    ['CRLF line endings', '---\r\na: b\r\n---\r\nbody\r\n', 'body\r\n'],
    ['a byte-order mark before it', '\uFEFF---\na: b\n---\nbody', 'body'],
    ['an empty block', '---\n---\nbody', 'body'],
    ['trailing spaces after the closing dashes', '---\na: b\n---  \nbody', 'body'],
    ['a document that is only frontmatter', '---\na: b\n---\n', ''],
    ['a closing delimiter at the very end', '---\na: b\n---', ''],
    ['a later markdown rule is content', '---\na: b\n---\nintro\n---\nmore', 'intro\n---\nmore'],
  ])('strips %s', (_name, input, want) => {
    expect(stripFrontmatter(input)).toBe(want);
  });

  it.each([
    ['no frontmatter', '# Task\nDo it.'],
    ['an unclosed block (half a frontmatter is content)', '---\na: b\nbody without end'],
    ['dashes not on the first line', 'intro\n---\na: b\n---\nbody'],
    ['four dashes', '----\na: b\n----\nbody'],
    ['dashes followed by text', '--- not yaml\na\n---\nb'],
    ['an empty string', ''],
  ])('leaves %s unchanged', (_name, input) => {
    expect(stripFrontmatter(input)).toBe(input);
  });
});

describe('assemblePromptBody', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ar-prompt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('joins files with the separator and strips frontmatter from the first file only', () => {
    const a = file('a.md', '---\nrole: main\n---\nFirst.');
    const b = file('b.md', '---\nkept: yes\n---\nSecond.');
    expect(assemblePromptBody({ files: [a, b], separator: '\n\n', stripFrontmatter: true })).toBe('First.\n\n---\nkept: yes\n---\nSecond.');
  });

  it('keeps the first file\'s frontmatter when stripping is off', () => {
    const a = file('c.md', '---\nx: 1\n---\nBody');
    expect(assemblePromptBody({ files: [a], separator: '', stripFrontmatter: false })).toBe('---\nx: 1\n---\nBody');
  });
});

describe('contextBlock', () => {
  it('is a fenced json block tagged round-context, followed by a blank line', () => {
    const block = contextBlock({ round_num: 3, phase: 'review' });
    expect(block).toBe('```json round-context\n{\n  "round_num": 3,\n  "phase": "review"\n}\n```\n\n');
    expect(JSON.parse(block.split('\n').slice(1, -3).join('\n'))).toEqual({ round_num: 3, phase: 'review' });
  });
});

describe('the template goal', () => {
  it('the shipped prompt holds exactly the placeholder doctor looks for, and the demo goal replaces it', async () => {
    const { readFileSync } = await import('node:fs');
    const { DEMO_GOAL, hasTemplateGoal, TEMPLATE_GOAL } = await import('../../src/round/template-goal.js');
    const shipped = readFileSync(join(import.meta.dirname, '../../prompts/main.md'), 'utf8');
    expect(hasTemplateGoal(shipped)).toBe(true);
    expect(hasTemplateGoal(shipped.replace(TEMPLATE_GOAL, DEMO_GOAL))).toBe(false);
  });
});
