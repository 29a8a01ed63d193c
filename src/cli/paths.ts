import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root (holds templates/ and prompts/), from dist/cli or src/cli alike. */
export const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(`${PACKAGE_DIR}/package.json`, 'utf8')) as { version: string }).version;
}

/** The absolute path of the CLI entry point, for units and detached starts. */
export const CLI_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));
