#!/usr/bin/env -S node --max-semi-space-size=1
// The entry point stays this small on purpose: `agent-runner --version` (asked by scripts, service
// checks and the remote monitor) is answered without loading commander or any verb, and the
// read-only verbs asked most often run without commander when they can (fast.ts).
import module from 'node:module';
import { packageVersion } from './paths.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`agent-runner ${packageVersion()}\n`);
} else {
  // Node 22.1+ keeps the compiled code of these modules between runs; Node 20 has no such cache.
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  const { fastMain } = await import('./fast.js');
  const code = await fastMain(process.argv);
  process.exitCode = code ?? (await (await import('./run.js')).main(process.argv));
}
