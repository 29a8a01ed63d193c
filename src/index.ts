/**
 * agent-runner as a library: the same round, loop and witness the CLI runs, returning values.
 * Nothing here writes to stdout, installs a signal handler or exits the process; that is the CLI's
 * job (src/cli/). docs/api.md documents every export below.
 */

// ---- config ----
export { loadConfig, parseConfig, describeInert, DEFAULT_CONFIG_NAME, type Config, type ResolvedPaths } from './config/load.js';

// ---- Round: one agent run ----
export { runRound, type RunRoundOptions } from './api/round.js';
export type { RoundResult } from './round/round.js';
export type { Classification } from './round/classify.js';

// ---- Loop: the restart loop, stopped by an AbortSignal ----
export { runLoop, type RunLoopOptions, type LoopResult } from './api/loop.js';
export type { Halt, HaltReason } from './loop/halt.js';

// ---- Witness: state and detectors ----
export { readState } from './api/state.js';
export { readHistory } from './api/history.js';
export type {
  ProjectHistory, LiveRound, ServeView, WaitView, UsageLimitView, CostView, Counters,
} from './history/model.js';
export type { HistoryLog, RoundRecord, ExitRecord, WaitRecord, HaltRecord, LimitRecord } from './history/log.js';
export type { ProjectState, PeekOptions, RoundView } from './peek/state.js';
export { evaluateDetectors } from './api/detectors.js';
export type { ProbeResult, EvaluatedCondition } from './monitor/probe.js';
export { runDetectors, DETECTORS } from './monitor/detectors/index.js';
export { DETECTOR_NAMES, DETECTOR_INFO, type DetectorName, type DetectorInfo } from './monitor/detector-names.js';
export type { Condition, Detector, Snapshot, Thresholds, Severity, DiskView } from './monitor/types.js';

// ---- events, exit codes, errors ----
export { eventsFor } from './events/open.js';
export { EVENT_KINDS, type EventKindInfo } from './events/kinds.js';
export { parseEvent } from './events/reader.js';
export type { EventPayloads, KnownKind, RunnerEvent, StoredEvent, EventRecord, RoundOutcome, TransientClass, WaitReason } from './events/payloads.js';
export type { EventSink } from './events/writer.js';
export { EXIT, EXIT_CODES, type ExitCodeInfo } from './exit-codes.js';
export { RunnerError, ConfigError, LockHeldError, UsageError } from './errors.js';
