import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, finish, runCli, type Project, useProjects } from '../helpers/project.js';

// serve tells the person who started it how each round ended, when and why it waits, why it
// stopped, and a summary, on stderr beside the line each round starts with. Colour only on a TTY.

const { project, track } = useProjects();
const COSTLY_COMMIT = 'commit:1;;json:{"type":"result","subtype":"success","is_error":false,"result":"ok","total_cost_usd":0.25}';
// Not a TTY, and nothing in the environment turning colour off: only the missing terminal does.
const PLAIN = { NO_COLOR: undefined, TERM: 'xterm-256color' };

const serve = (p: Project, ...extra: string[]) => runCli(['serve', '--config', p.config, ...extra], { cwd: p.dir, env: PLAIN, timeoutMs: 90_000 });
const spoken = (stderr: string) => stderr.split('\n').filter(Boolean);

describe('serve speaks', () => {
  it('a line per round with outcome, duration, cost and commits, and a summary at exit; no colour without a TTY', async () => {
    const p = project({ mode: COSTLY_COMMIT });
    const r = await serve(p, '--max-rounds', '2');
    expect(r.code, r.stderr).toBe(0);
    const lines = spoken(r.stderr);
    const start1 = lines.findIndex((l) => /^agent-runner: round 1: agent pid \d+, log /.test(l));
    const end1 = lines.findIndex((l) => /^agent-runner: round 1: clean in \d+(\.\d)?s, \$0\.25, 1 commit$/.test(l));
    const end2 = lines.findIndex((l) => /^agent-runner: round 2: clean in \d+(\.\d)?s, \$0\.25, 1 commit$/.test(l));
    expect([start1, end1, end2].every((i) => i >= 0), r.stderr).toBe(true);
    expect(start1).toBeLessThan(end1);
    expect(end1).toBeLessThan(end2);
    expect(lines.at(-1)).toMatch(/^agent-runner: summary: 2 rounds \(2 clean\), \$0\.50, 2 commits in \d+(\.\d)?s; stopped: max_rounds \(--max-rounds\), exit 0$/);
    expect(r.stderr).not.toContain('\x1b[');
    expect(r.stdout).toBe('');
  });

  it('a timed-out round says so, and a summary says no cost was reported', async () => {
    const p = project({ mode: 'sleep:30', runtime: { round_timeout_s: 1, kill_grace_s: 1 } });
    const r = await serve(p, '--max-rounds', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(spoken(r.stderr)).toContainEqual(expect.stringMatching(/^agent-runner: round 1: timeout in \d+(\.\d)?s, 0 commits$/));
    expect(spoken(r.stderr).at(-1)).toMatch(/^agent-runner: summary: 1 round \(1 timeout\), no cost reported, 0 commits in .+; stopped: max_rounds \(--max-rounds\), exit 0$/);
  });

  it('a wait says how long and why; a halt says why, and the summary carries it with the exit code', async () => {
    const p = project({ mode: 'exit:1', runtime: { crash_loop_threshold: 2 } });
    const r = await serve(p);
    expect(r.code, r.stderr).toBe(80);
    const lines = spoken(r.stderr);
    const want = [
      /^agent-runner: round 1: error in \d+(\.\d)?s, 0 commits$/,
      /^agent-runner: waiting \d+(\.\d)?s \(backoff\) until \d{4}-\d\d-\d\dT[\d:.]+Z$/,
      /^agent-runner: round 2: error in \d+(\.\d)?s, 0 commits$/,
      /^agent-runner: halted \(crash_loop\): /,
      /^agent-runner: summary: 2 rounds \(2 error\), no cost reported, 0 commits in .+; stopped: halted \(crash_loop\), exit 80$/,
    ];
    const at = want.map((re) => lines.findIndex((l) => re.test(l)));
    expect(at.every((i) => i >= 0), r.stderr).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('colours outcomes on a terminal, and not with NO_COLOR', async () => {
    const p = project({ mode: 'ok' });
    // script(1) (util-linux; Debian's essential bsdutils) gives serve a pseudo-terminal.
    const onTty = async (env: NodeJS.ProcessEnv) => {
      const child = track(spawn('script', ['-qec', `${process.execPath} ${CLI} serve --max-rounds 1 --config ${p.config}`, '/dev/null'], { cwd: p.dir, env: { ...process.env, TERM: 'xterm-256color', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
      const r = await finish(child, 90_000);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r.stdout;
    };
    const coloured = await onTty({ NO_COLOR: undefined });
    expect(coloured).toContain('round 1: \x1b[32mclean\x1b[39m in ');
    expect(coloured).toContain('\x1b[1msummary\x1b[22m: 1 round (1 clean)');
    const plain = await onTty({ NO_COLOR: '1' });
    expect(plain).toMatch(/round 2: clean in /);
    expect(plain).not.toContain('\x1b[');
  });
});
