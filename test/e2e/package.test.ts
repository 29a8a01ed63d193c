import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finish } from '../helpers/project.js';

// The library as a user gets it: `npm pack`, the tarball installed offline into a scratch project,
// and docs/api.md's example run there as written. The CLI of the same tarball sets the project up.

const REPO = resolve(import.meta.dirname, '../..');
const NPM_ENV = { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_loglevel: 'error' };

/** Run a command to completion (killed by pid on timeout), failing with its output. */
async function sh(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...NPM_ENV, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const r = await finish(child, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The code block after `<!-- api-example: NAME -->` in docs/api.md. */
function apiExample(): { name: string; code: string } {
  const doc = readFileSync(join(REPO, 'docs/api.md'), 'utf8');
  const m = /<!-- api-example: (\S+) -->\s*```js\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error('docs/api.md has no <!-- api-example: … --> block');
  return { name: m[1]!, code: m[2]! };
}

/**
 * A consumer depending on the tarball, with a lockfile naming this repository's own locked runtime
 * dependencies: npm's cache holds their tarballs (by integrity) but not the registry metadata a
 * fresh resolution would need, so an offline install must not resolve anything.
 */
function writeConsumer(at: string, tarball: string): void {
  const ours = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Record<string, unknown>;
  const spec = `file:${tarball}`;
  const runtime = Object.fromEntries(Object.entries(ours.packages).filter(([k, v]) => k !== '' && !v['dev'] && !v['devOptional']));
  const lock = {
    name: 'consumer',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'consumer', dependencies: { 'agent-runner': spec } },
      'node_modules/agent-runner': { version: pkg['version'], resolved: spec, license: pkg['license'], dependencies: pkg['dependencies'], bin: pkg['bin'], engines: pkg['engines'] },
      ...runtime,
    },
  };
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'agent-runner': spec } }));
  writeFileSync(join(at, 'package-lock.json'), JSON.stringify(lock, null, 2));
}

const CHECK_TS = [
  "import { loadConfig, runLoop, runRound, evaluateDetectors, readHistory, EXIT, type LoopResult, type RoundResult, type ProbeResult, type ProjectHistory } from 'agent-runner';",
  "const cfg = loadConfig('agent-runner.toml');",
  'const r: RoundResult = await runRound(cfg, { signal: AbortSignal.timeout(1000) });',
  'const code: number = r.classification.roundExitCode;',
  'const l: LoopResult = await runLoop(cfg, { once: true });',
  'const p: ProbeResult = await evaluateDetectors(cfg);',
  'const h: ProjectHistory = readHistory(cfg);',
  "const ok: boolean = l.exitCode === EXIT.OK && p.health === 'healthy' && code === 0 && h.last_round?.outcome === 'clean';",
  'export { ok };',
].join('\n');

let dir: string;
let consumer: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ar-pack-'));
  const packed = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', dir], REPO)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(dir, packed[0]!.filename);
  consumer = join(dir, 'consumer');
  mkdirSync(consumer);
  writeConsumer(consumer, tarball);
  // Offline: the tarballs come from the npm cache that `npm ci` of this repository filled.
  await sh('npm', ['ci', '--offline', '--ignore-scripts'], consumer);
  const { name, code } = apiExample();
  writeFileSync(join(consumer, name), code);
  writeFileSync(join(consumer, 'check.ts'), CHECK_TS);
  writeFileSync(join(consumer, 'bad.ts'), "import { runRound } from 'agent-runner';\nawait runRound('agent-runner.toml');\n");
  writeFileSync(join(consumer, '.gitignore'), 'node_modules/\n');
  // All committed: rounds preserve and clean whatever is uncommitted (vcs.dirty_action = "stash").
  await sh('git', ['init', '-q'], consumer);
  await sh('git', ['add', '-A'], consumer);
  await sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-m', 'consumer'], consumer);
  await sh(join(consumer, 'node_modules/.bin/agent-runner'), ['init', '--preset', 'demo'], consumer);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the library entry point, its declarations and the CLI, and no tests', () => {
    const installed = join(consumer, 'node_modules/agent-runner');
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    const dist = readdirSync(join(installed, 'dist'));
    expect(dist).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'bin', 'api']));
    expect(readdirSync(installed)).not.toContain('test');
    expect(readdirSync(installed)).toContain('LICENSE');
  });

  it('runs docs/api.md\'s example as written: a round, a loop stopped by an AbortSignal, the state, the detectors', async () => {
    const out = await sh(process.execPath, [apiExample().name], consumer);
    expect(out).toMatch(/^round 1: clean, exit 0$/m);
    expect(out).toMatch(/^loop: ok \(exit 0\), halted: no$/m);
    const rounds = Number(/^rounds: (\d+), last: clean$/m.exec(out)?.[1]);
    expect(rounds).toBeGreaterThanOrEqual(2);
    // The history model agrees with the state document.
    expect(out).toMatch(new RegExp(`^history: ${rounds} rounds, last: clean, waiting: no, halted: no$`, 'm'));
    expect(out).toMatch(/^health: (healthy|warning|critical), firing: /m);
    expect(out).not.toMatch(/firing: .*(oauth_fail|network_fail|timeout_rate|hung|anomaly_repetitive_active)/);
    // The library wrote nothing but what the example printed: the loop's stop is recorded as an event.
    const events = readdirSync(join(consumer, '.agent-runner/logs')).filter((f) => f.startsWith('events-'));
    const lines = events.flatMap((f) => readFileSync(join(consumer, '.agent-runner/logs', f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; reason?: string }));
    expect(lines.filter((e) => e.event === 'serve_stopped').at(-1)).toMatchObject({ reason: 'signal SIGTERM' });
    expect(out.split('\n').filter(Boolean)).toHaveLength(5);
  });

  it('its type declarations check a TypeScript consumer', { timeout: 180_000 }, async () => {
    // One compiler run over both files (it is slow): the right use checks clean, a misuse is caught.
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
    const child = spawn(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--lib', 'es2023', '--types', 'node', '--typeRoots', join(REPO, 'node_modules/@types'), 'check.ts', 'bad.ts'], { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] });
    const r = await finish(child, 170_000);
    const errors = r.stdout.split('\n').filter((l) => / error TS\d+/.test(l));
    expect(errors).toEqual([expect.stringMatching(/^bad\.ts\(2,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'Config'/)]);
  });
});
