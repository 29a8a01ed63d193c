#!/usr/bin/env bash
# agent-runner's one build entry point. Every subcommand is idempotent and safe to re-run.
#   setup   install the system packages the tests need (apt-get, when missing), npm ci, build
#   build   compile TypeScript to dist/ and bundle the CLI (dist/bin/main.js)
#   test    setup, then the whole suite (unit + end-to-end: real processes, systemd --user, sshd);
#           ends with a plain "N passed, N failed" line
#   soak    the chaos suite alone, long: CHAOS_ITERATIONS (default 2000), CHAOS_SEED to reproduce
#   test-loaded  the whole suite RUNS times (default 3) while HOGS CPU hogs (default 2) run
#   memsoak serve's memory over SOAK_ROUNDS rounds (default 4000) of a 75 ms agent: the RSS curve
#   check   lint + typecheck + docs freshness + test
#   bench   benchmarks (medians and ratios; never part of the test suite)
#   demo    a scratch repo, `init --preset demo`, three rounds with `serve --max-rounds 3`, `peek`
#   docs    regenerate the reference sections of docs/ from the code's registries
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

say() { printf '==> %s\n' "$*" >&2; }

need_pkgs() {
  local missing=()
  command -v git >/dev/null || missing+=(git)
  command -v flock >/dev/null || missing+=(util-linux)
  command -v jq >/dev/null || missing+=(jq)
  command -v ssh >/dev/null || missing+=(openssh-client)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  [ -x /lib/systemd/systemd ] || missing+=(systemd)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v setsid >/dev/null || missing+=(util-linux)
  command -v timeout >/dev/null || missing+=(coreutils)
  printf '%s\n' "${missing[@]}" | sort -u | grep -v '^$' || true
}

cmd_setup() {
  local pkgs
  pkgs=$(need_pkgs)
  if [ -n "$pkgs" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing system packages: $(echo $pkgs)"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
    else
      say "missing system packages (install them, then re-run): $(echo $pkgs)"
      say "the end-to-end tests that need them will be skipped outside CI"
    fi
  fi
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  cmd_build
}

cmd_build() {
  # Incremental: rebuilding dist/ under a running test suite would hand half-written files to it.
  if [ -f dist/bin/main.js ] && [ -z "$(find src templates tsconfig.json package.json -newer dist/bin/main.js -print -quit)" ]; then
    return 0
  fi
  npx --no-install tsc -p tsconfig.json
  # The shipped CLI is one bundle (plus a chunk per lazily loaded verb): every `round` and `peek`
  # pays start-up, and loading ~60 modules one by one costs a third of it.
  rm -rf dist/bin
  npx --no-install rolldown dist/cli/main.js --dir dist/bin --format esm --platform node --log-level warn >/dev/null
  chmod +x dist/bin/main.js
}

cmd_test() {
  cmd_setup
  local report="$ROOT/.vitest-report.json"
  rm -f "$report" "$ROOT/.chaos-summary.txt"
  set +e
  CHAOS_SUMMARY_FILE="$ROOT/.chaos-summary.txt" npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
  local rc=$?
  set -e
  CHAOS_SUMMARY_FILE="$ROOT/.chaos-summary.txt" node "$ROOT/scripts/test-summary.mjs" "$report" "$rc"
}

cmd_soak() {
  cmd_setup
  CHAOS_ITERATIONS=${CHAOS_ITERATIONS:-2000} npx --no-install vitest run test/chaos/signals.test.ts
}

cmd_test_loaded() {
  cmd_setup
  scripts/loaded-suite.sh
}

cmd_memsoak() {
  cmd_setup
  node bench/serve-soak.mjs
}

cmd_check() {
  cmd_setup
  say "lint"
  npx --no-install eslint .
  say "typecheck (sources, tests, benchmarks)"
  npx --no-install tsc -p tsconfig.test.json
  if [ -f scripts/gen-docs.mjs ]; then
    say "docs are up to date"
    node scripts/gen-docs.mjs --check
  fi
  cmd_test
}

cmd_bench() {
  cmd_setup
  mkdir -p .bench-out
  for b in bench/*.bench.mjs; do
    say "$b"
    node "$b" "$@"
  done
}

cmd_demo() {
  cmd_setup
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/agent-runner-demo.XXXXXX")
  local ar=(node "$ROOT/dist/bin/main.js")
  say "scratch repository: $dir"
  git -C "$dir" init -q
  git -C "$dir" -c user.name=demo -c user.email=demo@localhost commit -q --allow-empty -m "empty repository"
  cd "$dir"
  say "agent-runner init --preset demo"
  "${ar[@]}" init --preset demo
  say "agent-runner serve --max-rounds 3"
  "${ar[@]}" serve --max-rounds 3
  say "agent-runner peek"
  "${ar[@]}" peek
  say "the agent's commits:"
  git --no-pager log --oneline -5
  say "done: explore with  cd $dir && node $ROOT/dist/bin/main.js peek --json | jq .recent_rounds"
}

cmd_docs() {
  cmd_build
  node scripts/gen-docs.mjs "$@"
}

sub=${1:-}
[ $# -gt 0 ] && shift
case "$sub" in
  setup) cmd_setup ;;
  build) cmd_build ;;
  test) cmd_test "$@" ;;
  check) cmd_check ;;
  soak) cmd_soak ;;
  test-loaded) cmd_test_loaded ;;
  memsoak) cmd_memsoak ;;
  bench) cmd_bench "$@" ;;
  demo) cmd_demo ;;
  docs) cmd_docs "$@" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
