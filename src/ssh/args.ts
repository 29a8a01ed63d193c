import { UsageError } from '../errors.js';

/**
 * Everything that ends up on an ssh command line is checked here. The host is an argument of the
 * system ssh (after `--`), never part of a shell string; the remote command is a list of words,
 * each quoted for the remote user's shell, so no value can add a command.
 */

const HOST = /^[A-Za-z0-9_][A-Za-z0-9._@%+:-]*$/;

export function validateHost(host: string): string {
  if (host.startsWith('-')) throw new UsageError(`refusing host "${host}": a host may not start with "-" (it would be read as an ssh option)`);
  if (!HOST.test(host) || host.length > 255)
    throw new UsageError(`invalid host "${host}": use an alias from ~/.ssh/config or user@host (letters, digits and . _ @ % + : -)`);
  return host;
}

/** A word for the remote shell: bare when it is plainly safe, otherwise single-quoted. */
export function shellQuote(word: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(word)) throw new UsageError(`refusing a remote argument with a control character: ${JSON.stringify(word)}`);
  if (word !== '' && /^[A-Za-z0-9_\-.,/:@%+=]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function remoteCommandLine(words: readonly string[]): string {
  if (words.length === 0) throw new UsageError('empty remote command');
  return words.map(shellQuote).join(' ');
}

/** `--remote-cmd "node /opt/ar/dist/bin/main.js"` → words (split on spaces; no shell syntax). */
export function splitRemoteCmd(text: string): string[] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new UsageError('--remote-cmd is empty');
  for (const w of words) shellQuote(w);
  return words;
}
