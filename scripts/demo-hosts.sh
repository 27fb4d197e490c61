#!/usr/bin/env bash
# The whole story on real machines (DESIGN §5b), as root: the hosts sandbox,
# commission, the app answering through the load balancer, a second commit
# deployed, rolled back, then everything removed. It leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_NAME="${ENV_NAME:-qa}"
step() { echo; echo "== $*"; }
run() { echo "\$ argos-cloud $*"; argos-cloud "$@"; }
cleanup() { step "stop the sandbox"; argos-cloud sandbox stop || true; }
trap cleanup EXIT

step "start the hosts sandbox (builds the Debian 12 image once)"
argos-cloud sandbox stop >/dev/null 2>&1 || true
run sandbox start --hosts
step "commission: bake, master, database, broker, app and worker machines, first deploy"
run --yes "$ENV_NAME" commission
URL=$(argos-cloud --output json "$ENV_NAME" status | python3 -c \
  'import json, sys; print(json.load(sys.stdin)["url"].rstrip("/"))')
step "the application at $URL"
echo "\$ curl $URL/"; curl -sS --max-time 30 "$URL/"; echo
echo "\$ curl $URL/celery"; curl -sS --max-time 60 "$URL/celery"; echo
step "a second commit of the reference app"
REPO=.argos-cloud/sources/reference-app
git -C "$REPO" -c user.name=demo -c user.email=demo@localhost commit -q --allow-empty \
  -m "demo: a second commit"
git -C "$REPO" log --oneline -2
run --yes "$ENV_NAME" deploy --ref main
echo "\$ curl $URL/"; curl -sS --max-time 30 "$URL/"; echo
step "rollback"
run --yes "$ENV_NAME" rollback
echo "\$ curl $URL/"; curl -sS --max-time 30 "$URL/"; echo
run "$ENV_NAME" history
step "decommission and clean"
run --yes "$ENV_NAME" decommission
run --yes "$ENV_NAME" clean
