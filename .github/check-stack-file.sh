#!/usr/bin/env bash
# Refuses a deploy whose committed stack file lacks what the stack's CI depends on.
# CI's `pulumi up` sees only the committed Pulumi.<stack>.yaml: a setting made on a
# workstation during the bootstrap and never committed is, to CI, a setting
# removed — without ciRepository the plan deletes the very roles this job runs as,
# without ciStateBucket the state policy, without encryptionsalt the stack's
# secrets cannot be decrypted.
#
# Usage: check-stack-file.sh STACK. Reads PULUMI_BACKEND_URL (the Actions
# variable), PULUMI_CONFIG_PASSPHRASE, GitHub's GITHUB_REPOSITORY and, with
# `id-token: write`, the job's OIDC token to compare its subject with the one the
# stack's deploy role trusts. Needs yq, jq and curl (GitHub's runners have them).
set -euo pipefail
stack=$1
file="Pulumi.$stack.yaml"
errors=0
fail() {
  echo "::error file=$file::$*"
  errors=$((errors + 1))
}
if [ ! -f "$file" ]; then
  echo "::error::$file is not committed: commit the stack file the bootstrap wrote"
  exit 1
fi
# Both files as JSON, read with jq: Go's yq (GitHub's runners) takes -o=json,
# Debian's (a jq wrapper) prints JSON anyway.
json() { yq -o=json '.' "$1" 2>/dev/null || yq '.' "$1"; }
stack_json=$(json "$file")
project_json=$(json Pulumi.yaml)
project=$(jq -r '.name' <<<"$project_json")
value() { # a key of the stack file, else Pulumi.yaml's default, else ""
  jq -r --arg key "$project:$1" --arg name "$1" --argjson project "$project_json" \
    '(.config[$key] | select(. != "")) // $project.config[$name].default // ""' <<<"$stack_json"
}
top() { jq -r --arg key "$1" '.[$key] // ""' <<<"$stack_json"; }

repository=$(value ciRepository)
if [ -z "$repository" ]; then
  fail "ciRepository is not set in the committed $file: this pulumi up would delete the stack's CI roles. Commit the stack file of the bootstrap (README: Setting it up)."
elif [ "$(sed -E 's/@[0-9]+//g' <<<"$repository")" != "${GITHUB_REPOSITORY:-}" ]; then
  fail "ciRepository is $repository, but this workflow runs in ${GITHUB_REPOSITORY:-an unknown repository}: the roles would trust another repository."
fi

# The subject GitHub puts in this job's token against the one the deploy role
# trusts (infra/ci.go DeploySubject): the name form and the immutable form differ.
if [ -n "$repository" ] && [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]; then
  if [ "$(value environment)" = prod ]; then
    want="repo:$repository:environment:prod"
  else
    want="repo:$repository:ref:refs/heads/$(value ciBranch)"
  fi
  if ! token=$(curl -fsS -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com" | jq -er .value); then
    fail "could not fetch this job's OIDC token (id-token: write?) to compare its subject with $want"
  else
    payload=$(cut -d. -f2 <<<"$token" | tr '_-' '/+')
    while [ $((${#payload} % 4)) -ne 0 ]; do payload="$payload="; done
    sub=$(base64 -d <<<"$payload" | jq -r .sub)
    if [ "$sub" != "$want" ]; then
      fail "this job's OIDC subject is $sub, the deploy role trusts $want: set ciRepository to the repository part of the subject (owner/name, or owner@OWNER_ID/name@REPO_ID with immutable subject claims), pulumi up from a workstation, commit."
    fi
  fi
fi

backend=${PULUMI_BACKEND_URL:-}
if [[ $backend == s3://* ]]; then
  bucket=${backend#s3://}
  bucket=${bucket%%[/?]*}
  state=$(value ciStateBucket)
  if [ "$state" != "$bucket" ]; then
    fail "ciStateBucket is '${state}' in the committed $file, the state backend is bucket $bucket: the CI roles would lose the state they run on."
  fi
fi
provider=$(top secretsprovider)
if [ -n "$backend" ] && { [ -z "$provider" ] || [ "$provider" = passphrase ]; }; then
  if [ -z "$(top encryptionsalt)" ]; then
    fail "encryptionsalt is missing from the committed $file: the passphrase secrets provider keeps it there, and without it this stack's secrets cannot be read."
  fi
  if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ]; then
    fail "PULUMI_CONFIG_PASSPHRASE is empty: set the secret (prod: in the environment prod)."
  fi
fi

# The committed Pulumi.prod.yaml ships placeholders; a domain set on a workstation
# but not committed would send CI's up to replace the certificate and records.
for placeholder in domainName=app.example.com hostedZoneId=Z0123456789EXAMPLE0; do
  if [ "$(value "${placeholder%%=*}")" = "${placeholder#*=}" ]; then
    fail "${placeholder%%=*} is the placeholder ${placeholder#*=} in the committed $file: commit your own (pulumi config set ${placeholder%%=*} ... --stack $stack)."
  fi
done

if [ "$errors" -gt 0 ]; then
  echo "$file is not ready for CI: $errors problem(s) above."
  exit 1
fi
echo "$file has the stack's CI settings."
