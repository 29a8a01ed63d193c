#!/usr/bin/env bash
# agent-runner's one build entry point. Every subcommand is idempotent and safe to re-run.
#   setup   install the system packages the product needs (git, util-linux, coreutils; apt-get,
#           when missing), npm ci, build
#   build   compile TypeScript to dist/ and bundle the CLI (dist/bin/main.js)
#   test    setup plus the test-only packages (openssh, systemd, jq, prometheus, chromium; never started or enabled), then
#           the whole suite (unit + end-to-end: real processes, systemd --user, sshd); ends with a
#           plain "N passed, N failed" line
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

# Every system package, in one place: "package  what-proves-it-is-there  who-needs-it".
#   run   the product itself (setup, demo, and every command below)
#   test  only the test suite (./build.sh test, check, soak): installed with service starts denied
#         and any unit they enable disabled again, so no daemon is left running or enabled.
# A test that needs a new tool adds one line here.
PACKAGES=(
  "git              git                   run"
  "util-linux       flock                 run"
  "util-linux       setsid                run"
  "coreutils        timeout               run"
  "util-linux       unshare               test"
  "bubblewrap       bwrap                 test"
  "jq               jq                    test"
  "openssh-client   ssh                   test"
  "openssh-server   /usr/sbin/sshd        test"
  "systemd          /lib/systemd/systemd  test"
  "prometheus       promtool              test"
  "chromium         chromium              test"
)

# The packages of the given roles whose marker command or file is missing, one per line.
missing_pkgs() {
  local line pkg probe role want
  for line in "${PACKAGES[@]}"; do
    read -r pkg probe role <<<"$line"
    for want in "$@"; do
      [ "$role" = "$want" ] || continue
      if [[ $probe == /* ]]; then [ -e "$probe" ] && continue; else command -v "$probe" >/dev/null && continue; fi
      echo "$pkg"
    done
  done | sort -u
}

POLICY_RC=/usr/sbin/policy-rc.d
POLICY_SAVED=""
POLICY_OURS=0
restore_policy() {
  [ "$POLICY_OURS" = 1 ] || return 0
  if [ -n "$POLICY_SAVED" ]; then mv -f "$POLICY_SAVED" "$POLICY_RC"; else rm -f "$POLICY_RC"; fi
  POLICY_OURS=0
}

# apt-get install that starts no service and leaves none enabled: a policy-rc.d denying every
# start (the one already there, if any, is put back afterwards), and every systemd unit link the
# install created removed again (deb-systemd-helper enables units even when starts are denied).
install_quietly() {
  local links_before link unit
  links_before=$(find /etc/systemd/system -type l 2>/dev/null | sort)
  if [ -e "$POLICY_RC" ]; then POLICY_SAVED=$(mktemp); cp -p "$POLICY_RC" "$POLICY_SAVED"; fi
  POLICY_OURS=1
  trap restore_policy EXIT
  printf '#!/bin/sh\n# agent-runner build.sh: test packages are installed, never started.\nexit 101\n' >"$POLICY_RC"
  chmod 755 "$POLICY_RC"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
  restore_policy
  trap - EXIT
  comm -13 <(printf '%s\n' "$links_before") <(find /etc/systemd/system -type l 2>/dev/null | sort) | while read -r link; do
    [ -n "$link" ] || continue
    unit=$(basename "$link")
    say "not enabling $unit (installed for the tests only)"
    if command -v deb-systemd-helper >/dev/null; then deb-systemd-helper disable "$unit" >/dev/null 2>&1 || true; fi
    rm -f "$link"
  done
}

# Install what the given roles need (run, test), when missing and when we can.
ensure_pkgs() {
  local pkgs
  pkgs=$(missing_pkgs "$@")
  [ -n "$pkgs" ] || return 0
  # shellcheck disable=SC2086
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing system packages ($*): $(echo $pkgs)"
    install_quietly $pkgs
  else
    say "missing system packages (install them, then re-run): $(echo $pkgs)"
    case " $* " in *" test "*) say "the end-to-end tests that need them will be skipped outside CI" ;; esac
  fi
}

npm_ci() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# What the product needs: its runtime packages, node modules, a build. No test package, no service.
cmd_setup() {
  ensure_pkgs run
  npm_ci
  cmd_build
}

# What the test suite needs on top: sshd, systemd, jq … installed but never started or enabled.
cmd_setup_test() {
  ensure_pkgs run test
  npm_ci
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
  cmd_setup_test
  local report="$ROOT/.vitest-report.json"
  rm -f "$report" "$ROOT/.chaos-summary.txt"
  set +e
  CHAOS_SUMMARY_FILE="$ROOT/.chaos-summary.txt" npx --no-install vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
  local rc=$?
  set -e
  CHAOS_SUMMARY_FILE="$ROOT/.chaos-summary.txt" node "$ROOT/scripts/test-summary.mjs" "$report" "$rc"
}

cmd_soak() {
  cmd_setup_test
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
  cmd_setup_test
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
  cmd_setup_test
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
  say "done: explore with  cd $dir && node $ROOT/dist/bin/main.js peek --select recent_rounds"
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
