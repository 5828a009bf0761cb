#!/usr/bin/env bash
# Prints a stack's outputs as a Markdown job summary: the deployment first.
set -euo pipefail
stack=$1
if ! outputs=$(pulumi stack output --json --stack "$stack" 2>/dev/null); then
  echo "### \`$stack\`: no outputs (the update did not get far enough)"
  exit 0
fi
echo "### \`$stack\`"
echo
echo "- rollout: $(jq -r '.rolloutResult // "n/a"' <<<"$outputs")"
echo "- deployment: \`$(jq -r '.deploymentId // ""' <<<"$outputs")\`"
echo "- url: $(jq -r '.url // ""' <<<"$outputs")"
echo
echo "| output | value |"
echo "|---|---|"
jq -r 'to_entries[] | "| `\(.key)` | `\(.value | tostring)` |"' <<<"$outputs"
