import { Command } from 'commander';
import { addOptions, DEFAULT_CONFIG_FILE, GLOBAL_OPTIONS, verbOf } from './options.js';
import { packageVersion } from './paths.js';

type Register = (program: Command) => void;

/**
 * Each verb's module, loaded only when that verb runs (or for --help): start-up time is paid on
 * every `round` and `peek`, so a verb never loads the code of the others.
 */
const VERBS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.js')).registerInit,
  round: async () => (await import('./commands/round.js')).registerRound,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  lifecycle: async () => (await import('./commands/lifecycle.js')).registerLifecycle,
  install: async () => (await import('./commands/install.js')).registerInstall,
  peek: async () => (await import('./commands/peek.js')).registerPeek,
  watch: async () => (await import('./commands/watch.js')).registerWatch,
  events: async () => (await import('./commands/events.js')).registerEvents,
  monitor: async () => (await import('./commands/monitor.js')).registerMonitor,
  probe: async () => (await import('./commands/probe.js')).registerProbe,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  notify: async () => (await import('./commands/notify.js')).registerNotify,
  metrics: async () => (await import('./commands/metrics.js')).registerMetrics,
  ls: async () => (await import('./commands/ls.js')).registerLs,
  dashboard: async () => (await import('./commands/dashboard.js')).registerDashboard,
};
const MODULE_OF: Record<string, string> = {
  start: 'lifecycle', stop: 'lifecycle', kill: 'lifecycle', restart: 'lifecycle', status: 'lifecycle', resume: 'lifecycle',
  uninstall: 'install',
};

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('agent-runner')
    .description('Supervise autonomous CLI coding agents: bounded rounds, a restart loop that halts for good, and a witness that tells the truth.')
    .version(`agent-runner ${packageVersion()}`, '-V, --version');
  addOptions(program, GLOBAL_OPTIONS.map((o) => (o.flags.includes('--config') ? { ...o, default: DEFAULT_CONFIG_FILE } : o)))
    .showHelpAfterError()
    .exitOverride();
  const verb = verbOf(argv);
  const mod = verb && (VERBS[verb] ? verb : MODULE_OF[verb]);
  const wanted = mod ? [mod] : Object.keys(VERBS);
  for (const register of await Promise.all(wanted.map((m) => VERBS[m]!()))) register(program);
  // --config/--json after the verb, too.
  for (const sub of program.commands) {
    addOptions(sub, GLOBAL_OPTIONS).exitOverride();
  }
  return program;
}

