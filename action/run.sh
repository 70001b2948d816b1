#!/usr/bin/env bash
# The action's check step: `fargate-preflight check` with the action's inputs (environment
# variables, action.yml), its exit code passed through, and the code in `exit-code`.
set -uo pipefail
set -f # ids are never globs

args=(check --format "${FP_FORMAT:-github}")
[[ -n "${FP_CLUSTER:-}" ]] && args+=(--cluster "$FP_CLUSTER")
services="${FP_SERVICE:-}"
for service in ${services//,/ }; do
  args+=(--service "$service")
done
[[ -n "${FP_STARTUP_TIME:-}" ]] && args+=(--startup-time "$FP_STARTUP_TIME")
[[ -n "${FP_SARIF_FILE:-}" ]] && args+=(--sarif-output "$FP_SARIF_FILE")
[[ -n "${FP_SARIF_ARTIFACT:-}" ]] && args+=(--sarif-artifact "$FP_SARIF_ARTIFACT")
# The extra flags are split on whitespace, never evaluated by the shell.
read -r -a extra <<<"${FP_ARGS:-}"
args+=(${extra[@]+"${extra[@]}"})

"${FP_BIN:?FP_BIN: the install step names the binary}" "${args[@]}"
code=$?
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
exit "$code"
