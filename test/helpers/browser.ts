// A real headless Chromium (Debian's `chromium`, never a downloaded browser) driven by
// playwright-core, for the dashboard's browser tests. Every console error and uncaught page error
// is collected so a test can assert there were none.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
/** Screenshots and other files a reader of a test run may want; gitignored. */
export const ARTIFACTS = resolve(import.meta.dirname, '../../.test-artifacts');

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 740 };

export interface BrowserSession {
  browser: Browser;
  /** A new page at this viewport; its console errors land in `errors`. */
  open(viewport?: { width: number; height: number }, context?: Parameters<Browser['newContext']>[0]): Promise<Page>;
  errors: string[];
  /** Closes every page opened so far (before their server goes away, so none reconnects into an error). */
  closePages(): Promise<void>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserSession> {
  // The flags keep Chromium off the network it would otherwise reach for at every start (updates,
  // sync, QUIC probes): a closed network refuses them, noisily. playwright-core gives every launch
  // a fresh, empty profile directory of its own (and removes it on close).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    browser,
    errors,
    async open(viewport = DESKTOP, context = {}) {
      const ctx = await browser.newContext({ viewport, ...context });
      contexts.push(ctx);
      const page = await ctx.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${page.url()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
      return page;
    },
    async closePages() {
      for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
    },
    async close() {
      for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
      await browser.close();
    },
  };
}

/** Writes a full-page screenshot under .test-artifacts/<dir>/<name>.png and returns its path. */
export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  mkdirSync(join(ARTIFACTS, dir), { recursive: true });
  const path = join(ARTIFACTS, dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
