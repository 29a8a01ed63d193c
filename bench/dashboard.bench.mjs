#!/usr/bin/env node
// Dashboard benchmark (not part of the test suite; `./build.sh bench` runs every bench/*.bench.mjs).
//
// Over a synthetic 10k-round history (bench/gen-history.mjs), `agent-runner dashboard` on loopback:
//   A. the API answers the page is built from: /api/projects (the overview's cards) and
//      /api/projects/ID/page (the last 200 rounds, days, waits, halts, events), each over HTTP;
//   B. first render in a real headless Chromium (Debian's chromium, playwright-core): from the
//      navigation's start to the element that ends each page's render — every card on the overview,
//      the 200-bar timeline on the project page — in a fresh browser context each run (nothing cached).
// Target: first render <= 300 ms at 10k rounds.
//
//   node bench/dashboard.bench.mjs [--runs N] [--sizes 10000]
// Prints a table and writes .bench-out/dashboard.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { generateHistory } from './gen-history.mjs';
import { CLI, loadAverage, nowMs, opt, OUT, requireDist, stats } from './lib.mjs';

const RUNS = Number(opt('--runs', 15));
const SIZES = String(opt('--sizes', '10000')).split(',').map(Number);
const WARMUP = 2;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

requireDist('dashboard.bench');
if (!existsSync(CHROMIUM)) {
  process.stderr.write(`dashboard.bench: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)\n`);
  process.exit(2);
}


function get(port, path) {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ms: nowMs() - t0, body, status: res.statusCode }));
    })
      .on('error', reject)
      .end();
  });
}

async function startDashboard(config) {
  const child = spawn(process.execPath, [CLI, 'dashboard', '--listen', '127.0.0.1:0', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /dashboard on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
    if (m) return { child, port: Number(m[1]) };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dashboard did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The floor on this machine, now: an HTML page that loads one module script, which marks itself
 * rendered, served by a bare node:http server. The dashboard's figure over this one is its own cost.
 */
async function floorServer() {
  const html = '<!doctype html><meta charset="utf-8"><title>floor</title><script type="module" src="/a.js"></script><p>floor</p>';
  const js = "document.body.append('ok'); performance.mark('agent-runner:rendered');";
  const server = createServer((req, res) => {
    if (req.url === '/a.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

async function measure(size, browser) {
  const dir = generateHistory(join(OUT, `history-${size}`), size);
  const { child, port } = await startDashboard(join(dir, 'agent-runner.toml'));
  try {
    const list = JSON.parse((await get(port, '/api/projects')).body);
    const id = list.projects[0].id;
    const api = { projects: [], page: [] };
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const a = await get(port, '/api/projects');
      const b = await get(port, `/api/projects/${id}/page`);
      if (i >= WARMUP) {
        api.projects.push(a.ms);
        api.page.push(b.ms);
      }
    }
    const bars = JSON.parse((await get(port, `/api/projects/${id}/page`)).body).timeline.length;
    const render = { overview: [], project: [], floor: [] };
    const floor = await floorServer();
    const floorPort = floor.address().port;
    // CPU time besides wall time: on a loaded machine the wall clock mostly measures the queue.
    const cpu = { overview: [], project: [], floor: [] };
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const [key, path, done] of [
        ['overview', '/', 'article.card'],
        ['project', `/p/${id}`, `svg.chart[data-bars="${bars}"]`],
        ['floor', `http://127.0.0.1:${floorPort}/`, 'body'],
      ]) {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
        const page = await ctx.newPage();
        const cdp = await ctx.newCDPSession(page);
        await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
        const before = await cdpCpuMs(cdp);
        await page.goto(path.startsWith('http') ? path : `http://127.0.0.1:${port}${path}`, { waitUntil: 'commit' });
        await page.locator(done).waitFor({ state: 'attached' });
        // From the navigation's start to the page's own mark after its first render, on the page's clock.
        await page.waitForFunction(() => globalThis.performance.getEntriesByName('agent-runner:rendered').length > 0);
        const ms = await page.evaluate(() => globalThis.performance.getEntriesByName('agent-runner:rendered')[0].startTime);
        if (i >= WARMUP) {
          render[key].push(ms);
          cpu[key].push((await cdpCpuMs(cdp)) - before);
        }
        await ctx.close();
      }
    }
    floor.close();
    return { size, bars, api: { projects: stats(api.projects), page: stats(api.page) }, first_render: { overview: stats(render.overview), project: stats(render.project), floor: stats(render.floor) }, renderer_cpu: { overview: stats(cpu.overview), project: stats(cpu.project), floor: stats(cpu.floor) } };
  } finally {
    child.kill('SIGTERM');
  }
}

/** The renderer's CPU time so far (ms): its process, all threads. */
async function cdpCpuMs(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return (metrics.find((m) => m.name === 'ProcessTime')?.value ?? NaN) * 1000;
}

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const results = [];
try {
  for (const size of SIZES) results.push(await measure(size, browser));
} finally {
  await browser.close();
}
const load = loadAverage().join(' ');
process.stdout.write(`dashboard (median / p90 ms over ${RUNS} runs; load ${load})\n`);
for (const r of results) {
  process.stdout.write(`  ${r.size} rounds: /api/projects ${r.api.projects.median} / ${r.api.projects.p90}, /page ${r.api.page.median} / ${r.api.page.p90} (${r.bars} bars)\n`);
  process.stdout.write(`    first render: overview ${r.first_render.overview.median} / ${r.first_render.overview.p90}, project page ${r.first_render.project.median} / ${r.first_render.project.p90} (target <= 300); floor (HTML + one module script) ${r.first_render.floor.median} / ${r.first_render.floor.p90}\n`);
  process.stdout.write(`    ratio to the floor: overview ${(r.first_render.overview.median / r.first_render.floor.median).toFixed(2)}, project page ${(r.first_render.project.median / r.first_render.floor.median).toFixed(2)}\n`);
  process.stdout.write(`    renderer CPU for it: overview ${r.renderer_cpu.overview.median} / ${r.renderer_cpu.overview.p90}, project page ${r.renderer_cpu.project.median} / ${r.renderer_cpu.project.p90}, floor ${r.renderer_cpu.floor.median} / ${r.renderer_cpu.floor.p90}\n`);
}
writeFileSync(join(OUT, 'dashboard.json'), JSON.stringify({ load, results }, null, 2));
