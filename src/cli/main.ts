#!/usr/bin/env -S node --max-semi-space-size=1
// The entry point stays this small on purpose: `agent-runner --version` (asked by scripts, service
// checks and the remote monitor) is answered without loading commander or any verb.
import { packageVersion } from './paths.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`agent-runner ${packageVersion()}\n`);
} else {
  const { main } = await import('./run.js');
  process.exitCode = await main(process.argv);
}
