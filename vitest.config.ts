import { defineConfig } from 'vitest/config';

// Two projects. `unit` is test/unit/ (pure logic tested with plain objects, plus the defense guards
// in test/unit/defenses-guards.test.ts that run short real rounds) and the `*.test.ts` files kept
// beside their source under src/ (src/isolation/: cgroup layout, limit files and wrapper argv,
// against temp directory trees shaped like cgroupfs). `e2e` is test/e2e/ and test/chaos/: the built
// CLI against real processes, a real systemd --user manager and a real sshd.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Every test file runs with its own $XDG_STATE_HOME (see the file).
          setupFiles: ['test/helpers/isolated-user-state.ts'],
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          // Some unit files drive real git and real processes (defense guards, fuzzing through the
          // loader): on a loaded two-core box one case can take more than vitest's default 5 s.
          testTimeout: 30_000,
          // Fast pure tests first; the e2e group then runs with its own worker limit.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          setupFiles: ['test/helpers/isolated-user-state.ts'],
          include: ['test/e2e/**/*.test.ts', 'test/chaos/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Each e2e file spawns real processes; two cores, so two files at a time.
          maxWorkers: 2,
        },
      },
    ],
  },
});
