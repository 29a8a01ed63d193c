import type { Command } from 'commander';
import { haltedError, readHalt } from '../../loop/halt.js';
import { runRound } from '../../round/round.js';
import { eventsFor, globals, loadFor } from '../context.js';
import { err, json, out } from '../output.js';
import { noteProject } from '../record-project.js';

export function registerRound(program: Command): void {
  program
    .command('round')
    .description('run one agent round: startup checks, lock, spawn under a hard timeout, classify, preserve dirty work')
    .option('--phase <name>', 'run this phase (from phases.list) once, without advancing the rotation')
    .option('--force', 'run even while a halt is recorded (the halt stays recorded)')
    .action(async (opts: { phase?: string; force?: boolean }, cmd: Command) => {
      const cfg = loadFor(cmd);
      noteProject(cfg, 'round');
      const events = eventsFor(cfg);
      // A halt means running the agent again cannot help (or costs): the same refusal as serve's.
      const halt = readHalt(cfg.paths.logDir);
      if (halt && !opts.force) {
        events.emit('halt_refused_start', { reason: halt.reason, since: halt.ts, verb: 'round' });
        throw haltedError(halt, '`agent-runner round --force` for one round anyway');
      }
      const ctl = new AbortController();
      // A signal to the round is forwarded to the agent's whole tree (TERM → grace → KILL),
      // the round is recorded, and the lock released last.
      const onSignal = (sig: NodeJS.Signals) => {
        if (!ctl.signal.aborted) {
          err(`received ${sig}: stopping the agent`);
          ctl.abort(sig);
        }
      };
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(s, onSignal);
      const result = await runRound({ cfg, events, phase: opts.phase, interrupt: ctl.signal, log: (l) => process.stderr.write(`agent-runner: ${l}\n`) });
      const c = result.classification;
      if (globals(cmd).json) {
        json({
          round_num: result.roundNum,
          phase: result.phase ?? null,
          outcome: c.outcome,
          exit_cause: c.exit_cause,
          transient: c.transient ?? null,
          reset_at_epoch: result.transient?.reset_at_epoch ?? null,
          exit_code: result.exitCode,
          signal: result.signal,
          duration_s: result.durationS,
          log_path: result.logPath,
          dirty_files: result.dirtyFiles,
          dirty_ref: result.dirty?.ref ?? null,
          leftovers_killed: result.leftoversKilled,
        });
      } else {
        out(
          `round ${result.roundNum}${result.phase ? ` (${result.phase})` : ''}: ${c.outcome}${c.transient ? ` (${c.transient})` : ''}, exit ${result.exitCode ?? result.signal}, ${result.durationS}s` +
            (result.dirty?.refName ? `, dirty work preserved at ${result.dirty.refName}` : '') +
            (result.leftoversKilled ? `, ${result.leftoversKilled} leftover process(es) killed` : ''),
        );
      }
      process.exitCode = c.roundExitCode;
    });
}
