import type { EventKindInfo } from './kinds.js';

/** Event kinds written by the witness layer (monitor). Merged into EVENT_KINDS. */
export const MONITOR_EVENT_KINDS = {} as const satisfies Record<string, EventKindInfo>;
