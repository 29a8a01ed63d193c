// The set-up every dashboard browser test shares: one Chromium for the file, every page closed
// after each test (before its server goes away), and no console error or uncaught exception left
// behind by any test's pages.
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { launchBrowser, type BrowserSession } from './browser.js';
import { waitFor } from './project.js';

export interface BrowserUse {
  /** The file's browser (set once beforeAll has run). */
  readonly session: BrowserSession;
  /** Chromium reports every 4xx answer as a console error: drop the ones a test provoked on purpose. */
  forgive(status: number): void;
}

/** Registers the hooks; call once at the top of a test file. */
export function useBrowser(): BrowserUse {
  let session: BrowserSession | undefined;
  beforeAll(async () => {
    session = await launchBrowser();
  });
  afterAll(async () => {
    await session?.close();
  });
  afterEach(async () => {
    if (!session) return;
    // Runs before the projects' cleanup (hooks run in reverse): the pages close while their server still runs.
    await session.closePages();
    expect(session.errors.splice(0)).toEqual([]);
  });
  return {
    get session() {
      if (!session) throw new Error('useBrowser: the browser is launched in beforeAll');
      return session;
    },
    forgive(status) {
      if (!session) return;
      const keep = session.errors.filter((e) => !e.includes(`status of ${status}`));
      session.errors.splice(0, session.errors.length, ...keep);
    },
  };
}

/** Collects a started CLI's stderr and waits for the line that says where it listens; resolves with the port. */
export async function listeningPort(child: ChildProcess, line: RegExp, what = 'the listener'): Promise<{ port: number; stderr: () => string }> {
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = Number(await waitFor(() => line.exec(stderr)?.[1], what, 30_000));
  return { port, stderr: () => stderr };
}
