import { randomUUID } from 'node:crypto';
import type { AgentVersionReading } from '../../agents/version-cache.js';
import { promptFilesFor, timeoutFor } from '../../config/load.js';
import { roundLogPath, stateFiles } from '../../state/files.js';
import { readJsonOr } from '../../state/json-file.js';
import { reserveRoundNumber } from '../../state/round-counter.js';
import { readStatus, type Status } from '../../state/status.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import type { Redactor } from '../../util/redact.js';
import { isoNow } from '../../util/time.js';
import type { CheckResult } from '../checks.js';
import type { Lock } from '../lock.js';
import { MARKER_VAR } from '../process-group.js';
import { assemblePromptBody, contextBlock } from '../prompt.js';
import type { RoundOptions } from '../round.js';
import type { RoundContext } from './context.js';
import { safeMetrics } from './record.js';

/**
 * Steps 3–5, under the lock: reserve the round number before anything else can fail, write the
 * agent's context (the previous round, any preserved dirty work), announce the round, and assemble
 * the prompt, argv and environment the agent will get.
 */
export function prepareRound(opts: RoundOptions, lock: Lock, checks: CheckResult[], redactor: Redactor, version?: AgentVersionReading): RoundContext {
  const { cfg, events } = opts;
  const logDir = cfg.paths.logDir;
  const files = stateFiles(logDir);

  const reserved = reserveRoundNumber(logDir);
  const roundNum = reserved.roundNum;
  if (reserved.statusCorrupt) events.emit('status_recovered', { reason: `status.json could not be parsed: ${reserved.statusCorrupt}`, round_num: roundNum });
  const phaseIndex = cfg.phases.list.length ? (roundNum - 1) % cfg.phases.list.length : undefined;
  const phase = opts.phase ?? (phaseIndex !== undefined ? cfg.phases.list[phaseIndex] : undefined);
  const startedMs = Date.now();
  const startedAt = isoNow(startedMs);

  const prevStatus = readStatus(logDir);
  const prev = prevStatus.kind === 'ok' ? prevStatus.value : undefined;
  const safeContext = redactor.value(agentContext(roundNum, startedAt, phase, prev, files.orphan));
  writeJsonAtomic(files.context, safeContext);

  const agentVersion = version?.version ?? null;
  events.emit('round_start', { round_num: roundNum, phase: phase ?? null, checks: checks.map((c) => c.name), agent_version: agentVersion });
  if (version?.changedFrom && agentVersion) events.emit('agent_cli_changed', { round_num: roundNum, command: version.command, from: version.changedFrom, to: agentVersion });
  safeMetrics(cfg, 'round_start', { round_num: roundNum, phase: phase ?? null });

  const body = assemblePromptBody({
    files: promptFilesFor(cfg, phase),
    separator: cfg.prompt.concat_separator,
    stripFrontmatter: cfg.prompt.strip_yaml_frontmatter,
  });
  const prompt = cfg.prompt.inject_context && cfg.prompt.context_injection_mode === 'prepend' ? contextBlock(safeContext) + body : body;
  const argv =
    cfg.agent.prompt_delivery === 'stdin'
      ? [...cfg.agent.command, ...cfg.agent.prompt_arg_template]
      : [...cfg.agent.command, ...cfg.agent.prompt_arg_template.map((a) => a.replaceAll('{prompt}', prompt))];
  const marker = randomUUID();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AGENT_RUNNER_LOG_DIR: logDir,
    AGENT_RUNNER_ROUND_NUM: String(roundNum),
    AGENT_RUNNER_PHASE: phase ?? '',
    ...opts.extraEnv,
    ...cfg.agent.env,
    // Last, so no config can remove it: it is how escaped descendants are found.
    [MARKER_VAR]: marker,
  };

  return {
    opts,
    cfg,
    events,
    lock,
    files,
    graceMs: cfg.runtime.kill_grace_s * 1000,
    roundNum,
    phase,
    phaseIndex,
    timeoutS: timeoutFor(cfg, phase),
    startedMs,
    startedAt,
    prev,
    prompt,
    argv,
    env,
    logPath: roundLogPath(logDir, roundNum, startedMs),
    marker,
    agentVersion,
  };
}

/** round-context.json: what the agent is told about this round and the one before it. */
function agentContext(roundNum: number, startedAt: string, phase: string | undefined, prev: Status | undefined, orphanFile: string): Record<string, unknown> {
  const orphan = readJsonOr<{ stashed_ref?: string; ref_name?: string; stash_message?: string; files?: string[] }>(orphanFile);
  return {
    round_num: roundNum,
    started_at: startedAt,
    ...(phase !== undefined ? { phase } : {}),
    ...(orphan?.stashed_ref
      ? { orphan_stash: { ref: orphan.stashed_ref, ref_name: orphan.ref_name, message: orphan.stash_message, files: (orphan.files ?? []).slice(0, 20) } }
      : {}),
    ...(prev && prev.last_completed_at
      ? {
          previous: {
            round_num: prev.round_num,
            exit_code: prev.last_exit_code ?? null,
            outcome: prev.last_outcome,
            duration_s: prev.last_duration_s,
            ended_at: prev.last_completed_at,
            had_dirty_tree: (prev.last_dirty_files?.length ?? 0) > 0,
            dirty_files: prev.last_dirty_files ?? [],
          },
        }
      : {}),
  };
}
