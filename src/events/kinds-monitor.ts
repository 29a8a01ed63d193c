import type { EventKindInfo } from './kinds.js';

/** Event kinds written by the witness layer (monitor). Merged into EVENT_KINDS. */
export const MONITOR_EVENT_KINDS = {
  monitor_started: { layer: 'monitor', fields: ['host', 'resolved', 'interval_s', 'log_dir', 'mode', 'once', 'pid'], description: 'A monitor began polling (host is null for the local project).' },
  monitor_stopped: { layer: 'monitor', fields: ['host', 'reason', 'polls'], description: 'A monitor ended (signal, --once, or gave up on an unreachable host).' },
  monitor_alert_emitted: {
    layer: 'monitor',
    fields: ['detector', 'subject', 'severity', 'message', 'auto_action', 'host', 'previous_severity'],
    description: 'An alert started firing, or its severity changed. It is not emitted again while the condition lasts.',
  },
  monitor_alert_resolved: { layer: 'monitor', fields: ['detector', 'subject', 'severity', 'host', 'since', 'duration_s'], description: 'A firing alert\'s condition cleared.' },
  monitor_auto_stop_triggered: { layer: 'monitor', fields: ['detector', 'host', 'evidence_ts'], description: 'A detector listed in auto_stop_on fired on fresh evidence while the service ran: stopping it.' },
  monitor_auto_stop_completed: { layer: 'monitor', fields: ['detector', 'host', 'stopped', 'seconds', 'mode'], description: 'The auto-stop finished; stopped says whether the service is down.' },
  monitor_auto_stop_failed: { layer: 'monitor', fields: ['detector', 'host', 'error'], description: 'The auto-stop could not be carried out (the service may still run).' },
  monitor_remote_blip: {
    layer: 'monitor',
    fields: ['host', 'error', 'attempt', 'elapsed_s', 'cap_s', 'interval_s', 'next_sleep_s'],
    description: 'Polling the remote host failed; retrying with back-off within remote_failure_tolerance_s. The host is unknown meanwhile.',
  },
  monitor_remote_recovered: { layer: 'monitor', fields: ['host', 'attempts', 'outage_s'], description: 'The remote host answers again after blips.' },
  monitor_remote_giveup: { layer: 'monitor', fields: ['host', 'total_attempts', 'total_elapsed_s', 'cap_s', 'final_error'], description: 'The remote host stayed unreachable past remote_failure_tolerance_s; the monitor exits.' },
} as const satisfies Record<string, EventKindInfo>;
