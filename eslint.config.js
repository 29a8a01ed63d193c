// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_EVENTS = { group: ['**/events/reader*'], message: 'the round and loop layers must not read events' };
const NO_NODE = { group: ['node:*'], message: 'pure deciders import no node:* module' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.bench-out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly' } },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The dashboard's page: plain browser JavaScript, served as written (no build step).
    files: ['assets/dashboard/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { document: 'readonly', window: 'readonly', location: 'readonly', history: 'readonly', fetch: 'readonly', EventSource: 'readonly', Node: 'readonly', Element: 'readonly', performance: 'readonly' } },
  },
  {
    // The supervisor never decides anything from its own outputs (upstream's "ouroboros" rule):
    // the round and the loop decide from the agent's exit, its structured output and state files.
    files: ['src/round/**/*.ts', 'src/loop/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_EVENTS] }] },
  },
  {
    // Pure deciders: plain data in, decisions out, unit-tested with plain objects (no I/O, no clock).
    files: ['src/monitor/detectors/**/*.ts', 'src/monitor/alerts.ts', 'src/history/log.ts', 'src/history/model.ts', 'src/history/live-figures.ts', 'src/config/inert.ts', 'src/notify/kinds.ts', 'src/notify/backoff.ts', 'src/notify/messages.ts', 'src/notify/channels/webhook-body.ts', 'src/metrics/totals.ts', 'src/metrics/exposition.ts', 'src/dashboard/views.ts', 'src/dashboard/log-entries.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_NODE] }] },
  },
  {
    // Both at once (a later block replaces a rule's options, it does not add to them).
    files: ['src/round/classify.ts', 'src/round/repetition.ts', 'src/round/translate.ts', 'src/loop/policy.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_EVENTS, NO_NODE] }] },
  },
);
