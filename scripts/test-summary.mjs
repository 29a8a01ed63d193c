// Print the closing line CI reads ("N passed, N failed, N skipped") from vitest's JSON report,
// and fail when vitest failed, when a test failed, or when nothing ran at all.
import { existsSync, readFileSync } from 'node:fs';

const [report, rcArg] = process.argv.slice(2);
const rc = Number(rcArg ?? 1);
if (!existsSync(report)) {
  console.log('0 passed, 1 failed');
  console.error(`vitest wrote no report (exit ${rc})`);
  process.exit(rc || 1);
}
const r = JSON.parse(readFileSync(report, 'utf8'));
const passed = r.numPassedTests ?? 0;
// A suite that failed to load has no failed tests of its own: count it, but never twice.
const failed = (r.numFailedTests ?? 0) || (r.numFailedTestSuites ?? 0);
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
const extra = [];
const chaos = process.env.CHAOS_SUMMARY_FILE && existsSync(process.env.CHAOS_SUMMARY_FILE) ? readFileSync(process.env.CHAOS_SUMMARY_FILE, 'utf8').trim() : '';
if (chaos) console.log(chaos);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${extra.join('')}`);
if (rc !== 0 || failed > 0 || passed === 0) process.exit(rc || 1);
