import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LONG_PROMPT, makeProject, readEvents, runCli, type Project } from '../helpers/project.js';

const projects: Project[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

it('phases rotate by round number, each with its own prompt and timeout; --phase runs one once', async () => {
  const p = makeProject({
    mode: 'stdin_to:out/prompt.txt;;sleep:2',
    extraToml: '[phases]\nlist = ["plan", "build"]\n[phases.build]\nround_timeout_s = 1\nprompt.files = ["prompts/build.md"]',
  });
  projects.push(p);
  mkdirSync(join(p.dir, 'prompts'));
  writeFileSync(join(p.dir, 'prompts/build.md'), 'BUILD PHASE PROMPT. ' + LONG_PROMPT);
  const round = (...a: string[]) => runCli(['round', '--config', p.config, ...a], { cwd: p.dir });

  const r1 = await round();
  expect(r1.code).toBe(0); // plan: the global prompt, the global 30 s timeout outlasts the 2 s agent
  expect(readFileSync(join(p.dir, 'out/prompt.txt'), 'utf8')).not.toContain('BUILD PHASE PROMPT');
  const r2 = await round();
  expect(r2.code).toBe(11); // build: its own prompt, and its own 1 s timeout
  expect(readFileSync(join(p.dir, 'out/prompt.txt'), 'utf8')).toContain('BUILD PHASE PROMPT');
  expect(readFileSync(join(p.dir, 'out/prompt.txt'), 'utf8')).toContain('"phase": "build"');
  const r3 = await round('--phase', 'build');
  expect(r3.code).toBe(11);
  const ev = readEvents(p.logDir);
  expect(ev.filter((e) => e.event === 'round_start').map((e) => e['phase'])).toEqual(['plan', 'build', 'build']);
  expect(ev.filter((e) => e.event === 'agent_spawn').map((e) => e['timeout_s'])).toEqual([30, 1, 1]);
  const bad = await round('--phase', 'deploy');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown phase "deploy"');
}, 60_000);
