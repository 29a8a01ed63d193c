import type { Command } from 'commander';
import { EXIT } from '../../exit-codes.js';
import { doctor } from '../../service/doctor.js';
import { eventsFor, globals, loadFor } from '../context.js';
import { json, out, paint } from '../output.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check everything a long unattended run needs (config, every phase\'s prompt, agent CLI and its version, git, disk, service, linger, isolation: cgroup, limits, sandbox) and say what to fix')
    .action(async (_o: unknown, cmd: Command) => {
      const cfg = loadFor(cmd, { warnInert: false });
      const findings = await doctor(cfg, eventsFor(cfg));
      const failed = findings.some((f) => f.status === 'fail');
      const warned = findings.some((f) => f.status === 'warn');
      if (globals(cmd).json) json({ ok: !failed, findings });
      else {
        for (const f of findings) {
          const mark = f.status === 'ok' ? paint('green', 'ok  ') : f.status === 'warn' ? paint('yellow', 'warn') : paint('red', 'FAIL');
          out(`${mark} ${f.check}: ${f.detail}${f.fix ? `\n       fix: ${f.fix}` : ''}`);
        }
        out(failed ? 'not ready: fix the FAIL lines first' : warned ? 'ready, with warnings' : 'ready');
      }
      process.exitCode = failed ? EXIT.CONFIG : warned ? EXIT.FAILURE : EXIT.OK;
    });
}
