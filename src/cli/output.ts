import { styleText } from 'node:util';

/** The only place that writes to stdout/stderr for humans: colour only on a TTY, never with NO_COLOR. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';
}

export function paint(format: Parameters<typeof styleText>[0], text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? styleText(format, text, { validateStream: false }) : text;
}

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(`agent-runner: ${line}\n`);
}

export function json(value: unknown, pretty = true): void {
  process.stdout.write((pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value)) + '\n');
}
