// The dashboard in a real headless Chromium: the built CLI serves it, real rounds and a real
// `serve` change the projects, and the page must show those changes live (Server-Sent Events),
// without a reload and without a console error.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { PHONE, screenshot } from '../helpers/browser.js';
import { useBrowser } from '../helpers/dashboard.js';
import { runCli, startCli, useProjects, waitFor, type Project } from '../helpers/project.js';

const { project, track } = useProjects();
/** A directory with no agent-runner.toml. */
const REPO_PARENT = tmpdir();
const browser = useBrowser();

/** `agent-runner dashboard` on a free loopback port (in `cwd`, with `args`); resolves with its URL once it listens. */
async function startDashboard(cwd: string, ...args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = track(startCli(['dashboard', '--listen', '127.0.0.1:0', ...args], { cwd }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await waitFor(() => /dashboard on (http:\/\/\S+\/)/.exec(stderr)?.[1], 'the dashboard to listen');
  return { child, url, stderr: () => stderr };
}

/** The project's card: earlier tests' projects may still be in this file's registry. */
const cardOf = (page: Page, p: Project) => page.locator('article.card', { hasText: p.project });

async function round(p: Project): Promise<void> {
  const r = await runCli(['round', '--config', p.config], { cwd: p.dir });
  expect(r.code, r.stderr).toBe(0);
}

describe('dashboard in a browser', () => {
  it('the overview lists the two projects of this host\'s registry, each with its last round', async () => {
    const a = project({ mode: 'commit:1' });
    const b = project({ mode: 'ok' });
    await round(a);
    await round(b);
    await round(b);
    // Started outside both projects, with no config: the registry (`ls`) names them.
    const d = await startDashboard(REPO_PARENT);
    const page = await browser.session.open();
    await page.goto(d.url);
    const cards = page.locator('article.card');
    await cards.first().waitFor();
    expect(await cards.count()).toBe(2);
    const names = await page.locator('article.card .name').allTextContents();
    expect(names.sort()).toEqual([a.project, b.project].sort());
    const cardB = page.locator('article.card', { hasText: b.project });
    expect(await cardB.textContent()).toMatch(/last: round 2 clean/);
    await waitFor(async () => (await page.locator('#live').textContent()) === 'live', 'the live stream to open', 30_000);
    await screenshot(page, 'dashboard', 'overview-desktop');
    const phone = await browser.session.open(PHONE);
    await phone.goto(d.url);
    await phone.locator('article.card').first().waitFor();
    // Nothing wider than the phone's screen: no sideways scrolling at 360 px.
    expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await screenshot(phone, 'dashboard', 'overview-phone');
  });

  it('a project whose first round runs after the page opened appears on it without a reload', async () => {
    const d = await startDashboard(REPO_PARENT);
    const page = await browser.session.open();
    await page.goto(d.url);
    await waitFor(async () => (await page.locator('#live').textContent()) === 'live', 'the live stream to open', 30_000);
    const c = project({ mode: 'ok' });
    await round(c);
    // It may first appear while its round runs (the round registers it); then its outcome follows.
    await cardOf(page, c).waitFor({ timeout: 30_000 });
    await waitFor(async () => /last: round 1 clean/.test((await cardOf(page, c).textContent()) ?? ''), 'the new project\'s outcome', 30_000);
  });

  it('a round started by serve appears live with its tokens so far, and its outcome shows without a reload', async () => {
    // The agent reports usage per message as claude does (one message over two lines under one id),
    // then holds the round open until the test has seen the card.
    const p = project({ mode: 'run:out/agent.sh;;commit:1', runtime: { round_timeout_s: 300 }, extraToml: '[monitor]\nround_progress_interval_s = 1' });
    const usage = (id: string, output: number) => JSON.stringify({ type: 'assistant', message: { id, model: 'claude-x', role: 'assistant', content: [{ type: 'text', text: 'working' }], usage: { input_tokens: 10, output_tokens: output, cache_read_input_tokens: 2000, cache_creation_input_tokens: 0 } } });
    const release = join(p.dir, 'out', 'release');
    writeFileSync(
      join(p.dir, 'out', 'agent.sh'),
      [usage('msg_1', 40), usage('msg_1', 1200), usage('msg_2', 300)].map((l) => `printf '%s\\n' '${l}'`).join('\n') + `\nwhile [ ! -e '${release}' ]; do sleep 0.2; done\n`,
    );
    const d = await startDashboard(p.dir);
    const page = await browser.session.open();
    await page.goto(d.url);
    const card = cardOf(page, p);
    await card.waitFor();
    expect(await card.getAttribute('data-state')).toBe('stopped');
    await page.evaluate('window.marker = 42');
    const serve = track(startCli(['serve', '--max-rounds', '1', '--config', p.config], { cwd: p.dir }));
    await waitFor(async () => (await card.getAttribute('data-state')) === 'running', 'the live round on the card', 20_000);
    expect(await card.textContent()).toMatch(/round 1/);
    // 1200 for msg_1 (its last usage, counted once) + 300 for msg_2; the cost comes with the result.
    await waitFor(async () => /1\.5k tokens so far · cost at the end/.test((await card.textContent()) ?? ''), 'the tokens so far on the card', 30_000);
    writeFileSync(release, '');
    await waitFor(async () => /last: round 1 clean/.test((await card.textContent()) ?? ''), 'the outcome on the card', 20_000);
    // The same document all along: the page was updated in place, not reloaded.
    expect(await page.evaluate('window.marker')).toBe(42);
    await waitFor(() => serve.exitCode !== null, 'serve to exit');
  });

  it('a halt shows its fix hint', async () => {
    const p = project({ mode: 'json:{"type":"result","subtype":"error","is_error":true,"api_error_status":401,"result":"Invalid API key · Please run /login"};;exit:1' });
    const d = await startDashboard(p.dir);
    const page = await browser.session.open();
    await page.goto(d.url);
    await cardOf(page, p).waitFor();
    const serve = await runCli(['serve', '--config', p.config], { cwd: p.dir });
    expect(serve.code).toBe(81);
    const halt = cardOf(page, p).locator('.halt');
    await halt.waitFor({ timeout: 20_000 });
    expect(await halt.textContent()).toMatch(/Halted: auth_failure.*Fix: log the agent CLI in again on this host; then agent-runner resume/s);
    expect(await cardOf(page, p).getAttribute('data-state')).toBe('halted');
    await screenshot(page, 'dashboard', 'halt-desktop');
  });

  it('the round page renders a stream-json log as assistant text, tool calls and the result', async () => {
    const text = { type: 'assistant', message: { content: [{ type: 'text', text: 'I will <b>edit</b> the notes.' }] } };
    const result = { type: 'result', subtype: 'success', is_error: false, result: 'Notes edited.', total_cost_usd: 0.25, num_turns: 3 };
    const p = project({ mode: `json:${JSON.stringify(text)};;tools:2:Edit:notes.md;;json:${JSON.stringify(result)}` });
    await round(p);
    const d = await startDashboard(p.dir);
    const page = await browser.session.open();
    await page.goto(d.url);
    await cardOf(page, p).locator('a.name').click();
    await page.locator('svg.chart[data-bars="1"]').first().waitFor();
    await screenshot(page, 'dashboard', 'project-desktop');
    await page.locator('table.rounds a', { hasText: '1' }).first().click();
    await page.locator('ol.log').waitFor();
    // Text from the log is text, never markup.
    expect(await page.locator('.le.assistant .txt').first().textContent()).toBe('I will <b>edit</b> the notes.');
    expect(await page.locator('.le.tool').count()).toBe(2);
    expect(await page.locator('.le.tool .who').first().textContent()).toBe('tool call · Edit');
    expect(await page.locator('.le.final').textContent()).toMatch(/result · \$0\.25 · 3 turns.*Notes edited\./s);
    await screenshot(page, 'dashboard', 'round-desktop');
    const phone = await browser.session.open(PHONE);
    await phone.goto(page.url());
    await phone.locator('ol.log').waitFor();
    expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await screenshot(phone, 'dashboard', 'round-phone');
    await phone.goto(page.url().replace(/\/r\/\d+$/, ''));
    await phone.locator('svg.chart').first().waitFor();
    expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
    await screenshot(phone, 'dashboard', 'project-phone');
  });
});
