#!/usr/bin/env bash
# The demo agent: behaves like `claude -p --output-format stream-json` in miniature.
# It reads its prompt on stdin, makes a real change, commits it, and reports a result.
set -euo pipefail
prompt=$(cat)
round=${AGENT_RUNNER_ROUND_NUM:-0}
bytes=${#prompt}
emit() { printf '%s\n' "$1"; }
emit '{"type":"system","subtype":"init","model":"demo-1","tools":["Edit","Bash"]}'
emit "{\"type\":\"assistant\",\"message\":{\"model\":\"demo-1\",\"content\":[{\"type\":\"tool_use\",\"name\":\"Edit\",\"input\":{\"file_path\":\"NOTES.md\"}}]}}"
printf -- '- round %s: read a %s-byte prompt and wrote this line (%s)\n' "$round" "$bytes" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> NOTES.md
git add NOTES.md
git -c user.name="demo agent" -c user.email="demo@localhost" -c commit.gpgsign=false commit -q -m "demo: round $round"
emit "{\"type\":\"assistant\",\"message\":{\"model\":\"demo-1\",\"content\":[{\"type\":\"tool_use\",\"name\":\"Bash\",\"input\":{\"command\":\"git commit\"}}]}}"
emit "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"Round $round: appended to NOTES.md and committed.\",\"total_cost_usd\":0,\"duration_ms\":5,\"usage\":{\"input_tokens\":$bytes,\"output_tokens\":12}}"
