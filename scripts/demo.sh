#!/usr/bin/env bash
# The whole lifecycle on the sandbox (a moto server on 127.0.0.1), as a user runs it.
# Instances never boot there and Salt never runs on them: the tool says so as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_NAME="${ENV_NAME:-qa}"
run() { echo; echo "\$ argos-cloud $*"; argos-cloud "$@"; }
cleanup() { echo; echo "\$ argos-cloud sandbox stop"; argos-cloud sandbox stop || true; }
trap cleanup EXIT

run validate
run sandbox start
run sandbox reset
run --yes "$ENV_NAME" commission
run "$ENV_NAME" plan --detailed-exitcode
run "$ENV_NAME" check
run --yes "$ENV_NAME" deploy --ref main
run "$ENV_NAME" status
run "$ENV_NAME" graph --format mermaid
run "$ENV_NAME" history
run --yes "$ENV_NAME" decommission
run --yes "$ENV_NAME" clean
run "$ENV_NAME" status
