import type { Command } from 'commander';
import type { Config } from '../../config/load.js';
import { EXIT } from '../../exit-codes.js';
import { readHalt } from '../../loop/halt.js';
import { readHistory } from '../../api/history.js';
import type { StopResult } from '../../service/lifecycle.js';
import { serviceStatus } from '../../service/status.js';
import { globals, loadFor } from '../context.js';
import type { VerbContext } from '../options.js';
import { err, json, out, paint } from '../output.js';
import { CLI_ENTRY } from '../paths.js';
import { noteProject } from '../record-project.js';

// `status` runs often (scripts, checks): the code that starts, stops and resumes the service is
// loaded only by the verbs that do so.
const service = () => import('../../service/lifecycle.js');

function reportStop(verb: string, r: StopResult, asJson: boolean): void {
  if (asJson) return json(r);
  if (!r.was_active) out(`${verb}: the service was not running (${r.mode})`);
  else out(`${verb}: ${r.stopped ? 'stopped' : 'STILL RUNNING'} in ${r.seconds.toFixed(1)}s (${r.mode})${r.escalated ? `, escalated to ${r.escalated}` : ''}`);
  out(r.leftovers.length ? `killed ${r.leftovers.length} leftover process(es) of this project's rounds: ${r.leftovers.join(' ')}` : 'no process of this project\'s rounds is left');
}

export async function statusDocument(cfg: Config) {
  const svc = await serviceStatus(cfg);
  const h = readHistory(cfg);
  const live = h.live;
  const last = h.last_round;
  const halt = h.halt;
  return {
    project: cfg.project,
    ...svc,
    current_round: live ? { round_num: live.round_num, phase: live.phase, pid: live.agent_pid, age_s: Math.round((Date.parse(h.generated_at) - live.started_ms) / 1000), log_path: live.log_path } : null,
    last_round: last ? { round_num: last.round_num, outcome: last.outcome, verdict: last.verdict, exit_code: last.exit_code, ended_at: last.ended_at, duration_s: last.duration_s, cost_usd: last.cost_usd } : null,
    waiting: h.wait ? { reason: h.wait.reason, until: h.wait.until, seconds_left: h.wait.seconds_left } : null,
    halt: halt ? { reason: halt.reason, since: halt.ts, message: halt.message, hint: halt.hint } : null,
    usage_limit: h.usage_limit,
    cost: { today_usd: h.cost.today_usd, total_usd: h.cost.total_usd, total_since: h.cost.total_since },
    rounds: h.counters.rounds,
  };
}

export function registerLifecycle(program: Command): void {
  program
    .command('start')
    .description('start serve: via systemctl when a unit is installed, otherwise detached with a pid file')
    .action(async (_o: unknown, cmd: Command) => {
      const cfg = loadFor(cmd);
      noteProject(cfg, 'start');
      const halt = readHalt(cfg.paths.logDir);
      if (halt) err(`warning: a halt is recorded (${halt.reason}); serve will refuse to run until \`agent-runner resume\``);
      const r = await (await service()).startService(cfg, CLI_ENTRY);
      if (globals(cmd).json) return json(r);
      out(r.already ? `already running (pid ${r.pid}, ${r.mode})` : `started (pid ${r.pid}, ${r.mode})${r.log ? `, output in ${r.log}` : ''}`);
    });

  program
    .command('stop')
    .description('graceful stop: serve finishes the current round (bounded by runtime.stop_drain_s), then exits; verifies nothing is left')
    .action(async (_o: unknown, cmd: Command) => {
      const cfg = loadFor(cmd);
      if (!globals(cmd).json) err('stopping service...');
      const r = await (await service()).stopService(cfg);
      reportStop('stop', r, Boolean(globals(cmd).json));
      if (!r.stopped) process.exitCode = EXIT.FAILURE;
    });

  program
    .command('kill')
    .description('forced stop: SIGTERM to serve and the agent tree, SIGKILL after 5 s')
    .action(async (_o: unknown, cmd: Command) => {
      const r = await (await service()).killService(loadFor(cmd));
      reportStop('kill', r, Boolean(globals(cmd).json));
      if (!r.stopped) process.exitCode = EXIT.FAILURE;
    });

  program
    .command('restart')
    .description('stop (or kill with --force), then start')
    .option('--force', 'kill instead of a graceful stop')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const cfg = loadFor(cmd);
      noteProject(cfg, 'restart');
      const { killService, startService, stopService } = await service();
      const r = opts.force ? await killService(cfg) : await stopService(cfg);
      reportStop(opts.force ? 'kill' : 'stop', r, false);
      const s = await startService(cfg, CLI_ENTRY);
      out(`started (pid ${s.pid}, ${s.mode})`);
    });

  program
    .command('status')
    .description('service state from the service manager (or pid file), the current round, waits and halts')
    .action(runStatus);

  program
    .command('resume')
    .description('clear a recorded halt (and the crash-loop counters and budgets) so serve may run again')
    .action(async (_o: unknown, cmd: Command) => {
      const { resumeProject } = await import('../../service/resume.js');
      const halt = resumeProject(loadFor(cmd));
      if (globals(cmd).json) return json({ cleared: halt ?? null });
      out(halt ? `cleared halt (${halt.reason}, since ${halt.ts}); counters and budgets reset. Start again with \`agent-runner start\`` : 'no halt was recorded; counters and budgets reset');
    });
}

export async function runStatus(_o: unknown, cmd: VerbContext): Promise<void> {
  const cfg = loadFor(cmd);
  const d = await statusDocument(cfg);
  if (globals(cmd).json) return json(d);
  const state = d.active ? paint('green', 'active') : paint('yellow', 'inactive');
  out(`${d.project}: ${state} (${d.mode})${d.pid ? ` pid ${d.pid}` : ''}${d.uptime_s !== null ? `, up ${d.uptime_s}s` : ''}`);
  if ('sub_state' in d && d.sub_state) out(`  unit: ${d.unit} ${d.active_state}/${d.sub_state}, restarts ${d.n_restarts ?? 0}`);
  if ('linger' in d && d.linger === false) out(`  ${paint('yellow', 'linger is off')}: the user unit stops at logout (sudo loginctl enable-linger $USER)`);
  if (d.current_round) out(`  round ${d.current_round.round_num} running for ${d.current_round.age_s}s (agent pid ${d.current_round.pid})`);
  else if (d.last_round) out(`  last round ${d.last_round.round_num}: ${d.last_round.outcome}${d.last_round.verdict ? ` (${d.last_round.verdict})` : ''} at ${d.last_round.ended_at}`);
  if (d.waiting) out(`  waiting (${d.waiting.reason}) until ${d.waiting.until}`);
  if (d.halt) out(`  ${paint('red', `HALTED (${d.halt.reason})`)} since ${d.halt.since}: ${d.halt.message}. ${d.halt.hint}; then \`agent-runner resume\``);
}
