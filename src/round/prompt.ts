import { readFileSync } from 'node:fs';

/**
 * Strip a leading YAML frontmatter block (`---\n…\n---\n`). A document without a closing
 * delimiter is left unchanged, as upstream does: half a frontmatter is content, not metadata.
 */
export function stripFrontmatter(text: string): string {
  const t = text.replace(/^\uFEFF/, '');
  if (!t.startsWith('---\n') && !t.startsWith('---\r\n')) return text;
  const m = /\r?\n---[ \t]*(\r?\n|$)/.exec(t.slice(3));
  if (!m) return text;
  return t.slice(3 + m.index + m[0].length).replace(/^\s+/, '');
}

export interface PromptParts {
  files: string[];
  separator: string;
  stripFrontmatter: boolean;
}

/** Read and join the prompt files (frontmatter stripped from the first, upstream's rule). */
export function assemblePromptBody(parts: PromptParts): string {
  const bodies = parts.files.map((f, i) => {
    const text = readFileSync(f, 'utf8');
    return i === 0 && parts.stripFrontmatter ? stripFrontmatter(text) : text;
  });
  return bodies.join(parts.separator);
}

export function contextBlock(context: Record<string, unknown>): string {
  return '```json round-context\n' + JSON.stringify(context, null, 2) + '\n```\n\n';
}
