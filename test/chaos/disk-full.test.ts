// The log dir on a 1 MiB tmpfs, mounted in a private mount namespace (root only): the agent fills
// it mid-round. The supervisor must finish the round, kill the tree, stop with a clear reason and
// its own exit code, and leave every state file parseable.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { CLI, makeProject, survivorsOf, type Project } from '../helpers/project.js';

const why = process.getuid?.() !== 0 ? 'needs root for a private mount namespace' : spawnSync('unshare', ['--version']).status !== 0 ? 'needs unshare(1)' : undefined;
const skip = why !== undefined && process.env['CI'] !== 'true';
if (skip) console.warn(`skipping disk-full tests: ${why}`);

const projects: Project[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.cleanup();
});

/** Run a shell script inside a fresh mount namespace where LOG is a tiny tmpfs; returns its stdout. */
function inTinyLogDir(p: Project, script: string, sizeKb = 1024): { status: number | null; stdout: string; stderr: string } {
  const full = `set -u\nmkdir -p "$LOG"\nmount -t tmpfs -o size=${sizeKb}k,mode=0700 tmpfs "$LOG"\n${script}`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', full], {
    env: { ...process.env, LOG: p.logDir, CFG: p.config, CLI, NODE: process.execPath, NO_COLOR: '1' },
    cwd: p.dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

it.skipIf(skip)('an agent filling the log dir mid-round: serve stops cleanly (exit 86) with a clear reason; state stays parseable', () => {
  const p = makeProject({ mode: 'flood:4000000;;sleep:1', runtime: { round_log_max_bytes: 64 * 1024 * 1024 } });
  projects.push(p);
  const r = inTinyLogDir(
    p,
    `"$NODE" "$CLI" serve --config "$CFG" 2>out/serve.err; echo "rc=$?"
cat out/serve.err | sed 's/^/err: /'
for f in status.json round-counter.json loop-state.json; do
  [ -f "$LOG/$f" ] && { "$NODE" -e 'JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))' "$LOG/$f" && echo "ok $f" || echo "BAD $f"; }
done
tail -c 2000 "$LOG"/events-*.jsonl | tail -n +2 | while IFS= read -r l; do "$NODE" -e 'JSON.parse(process.argv[1])' "$l" || echo "TORN"; done
echo done`,
  );
  expect(r.stdout, r.stderr).toContain('rc=86');
  expect(r.stdout).toMatch(/err: .*halted \(disk\)|err: .*disk full/);
  expect(r.stdout).not.toContain('internal error');
  expect(r.stdout).not.toContain('BAD ');
  expect(r.stdout).not.toContain('TORN');
  expect(r.stdout).toContain('ok status.json');
  expect(survivorsOf(p.testId)).toEqual([]);
});

it.skipIf(skip)('a log dir that is already full: the startup check halts serve with the disk reason, not a crash', () => {
  const p = makeProject({ mode: 'ok' });
  projects.push(p);
  const r = inTinyLogDir(
    p,
    `head -c 2000000 /dev/zero > "$LOG/filler" 2>/dev/null
"$NODE" "$CLI" serve --config "$CFG" 2>out/serve.err; echo "rc=$?"
sed 's/^/err: /' out/serve.err`,
    512,
  );
  expect(r.stdout, r.stderr).toMatch(/rc=(86|78)/);
  expect(r.stdout).toMatch(/disk|No space left/);
  expect(r.stdout).not.toContain('internal error');
});

it.skipIf(skip)('a disk filling up under a running serve: monitor raises disk_critical and stops the service', () => {
  const p = makeProject({ mode: 'sleep:300', runtime: { stop_drain_s: 1, kill_grace_s: 1 } });
  projects.push(p);
  const r = inTinyLogDir(
    p,
    `"$NODE" "$CLI" start --config "$CFG" >/dev/null 2>&1 || echo "start failed"
for i in $(seq 200); do [ -s "$LOG/status.json" ] && grep -q '"running": true' "$LOG/status.json" && break; sleep 0.05; done
head -c 4000000 /dev/zero > "$LOG/filler" 2>/dev/null
"$NODE" "$CLI" monitor --once --json --config "$CFG" > out/monitor.jsonl 2>out/monitor.err; echo "monitor=$?"
"$NODE" "$CLI" status --json --config "$CFG" 2>/dev/null | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log("active=" + JSON.parse(s).active))'
"$NODE" "$CLI" kill --config "$CFG" >/dev/null 2>&1
cat out/monitor.err | sed 's/^/err: /'`,
  );
  expect(r.stdout, r.stderr).toContain('monitor=2');
  expect(r.stdout).toContain('active=false');
  expect(r.stdout).not.toContain('start failed');
  expect(r.stdout).not.toMatch(/err: .*internal error/);
  // --once --json: one state line per project, its alerts inside (docs/schemas/monitor-line.schema.json).
  const states = readFileSync(join(p.dir, 'out/monitor.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: string; alerts: Array<Record<string, unknown>> });
  expect(states.map((s) => s.status)).toEqual(['critical']);
  const alerts = states.flatMap((s) => s.alerts);
  expect(alerts.find((a) => a['detector'] === 'disk_critical')).toMatchObject({ severity: 'critical', state: 'firing', auto_action: 'stop_service' });
  expect(survivorsOf(p.testId)).toEqual([]);
});
