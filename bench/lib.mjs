// What every bench needs and used to copy: where things are, its options, quantiles, the dist/
// check and the machine's load (figures taken on a busy 2-core box are not idle figures, so each
// bench says what the load was).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built CLI, as `npm install -g` ships it. */
export const CLI = join(ROOT, 'dist/bin/main.js');
/** Where benches write their JSON (and generated histories). */
export const OUT = join(ROOT, '.bench-out');

/** The value after `name` on the command line (`--runs 9`), else `dflt`. */
export function opt(name, dflt) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
}

/** Whether the bare flag `name` is on the command line. */
export const flag = (name) => process.argv.slice(2).includes(name);

/** Monotonic milliseconds. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The q-quantile with linear interpolation; NaN for no samples. */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}

/** One decimal. */
export const r1 = (x) => Math.round(x * 10) / 10;

/** Median, p90, min and max of samples, one decimal each. */
export const stats = (xs) => ({ n: xs.length, median: r1(quantile(xs, 0.5)), p90: r1(quantile(xs, 0.9)), min: r1(Math.min(...xs)), max: r1(Math.max(...xs)) });

/** Exit 2 with one line when dist/ has not been built: every bench runs the built CLI. */
export function requireDist(bench) {
  if (!existsSync(CLI)) {
    process.stderr.write(`${bench}: dist/ is missing; build first (./build.sh build)\n`);
    process.exit(2);
  }
}

/** The 1-, 5- and 15-minute load averages, one decimal each. */
export const loadAverage = () => loadavg().map(r1);
