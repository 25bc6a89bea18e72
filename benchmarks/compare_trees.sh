#!/usr/bin/env bash
# Same endpoint, two versions of the code, side by side: a git worktree of OLD_REV and this
# checkout, each under gunicorn (2 sync workers, production settings) on the same database,
# wrk rounds alternating between them. For "did this change regress X?" when two separate
# `make bench` runs differ by more than their noise.
#
#   benchmarks/compare_trees.sh OLD_REV PATH TOKEN      (DATABASE_URL: the database to use)
#   DATABASE_URL='postgresql://postgres@/taskproject?host=var/bench-pg-full/run&port=5432' \
#     benchmarks/compare_trees.sh 0514660 '/api/tasks/stats/?scope=global' "$STAFF_TOKEN"
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=${1:?OLD_REV}; path=${2:?PATH}; token=${3:?TOKEN}
: "${DATABASE_URL:?set DATABASE_URL}"
rounds=${ROUNDS:-5}; seconds=${SECONDS_PER_ROUND:-4}
here=$(pwd); old=$(mktemp -d "${TMPDIR:-/tmp}/compare-old-XXXX")
git worktree add -q --detach "$old" "$old_rev"
export DEBUG=0 ALLOWED_HOSTS=127.0.0.1 LOG_LEVEL=WARNING SILK_ENABLED=0 TASKPROJECT_WEB=1
export SECRET_KEY=${SECRET_KEY:-$(python3 -c "import secrets; print(secrets.token_urlsafe(50))")}
gunicorn="$here/.venv/bin/gunicorn"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; git worktree remove --force "$old"; }
trap cleanup EXIT
(cd "$old" && exec "$gunicorn" taskproject.wsgi:application -b 127.0.0.1:9101 -w 2 \
    --log-level warning) & pids+=($!)
(exec "$gunicorn" taskproject.wsgi:application -b 127.0.0.1:9102 -w 2 --log-level warning) &
pids+=($!)
sleep 4
run() { wrk -t1 -c4 -d"$2"s -H "Authorization: Token $token" "http://127.0.0.1:$1$path"; }
run 9101 2 >/dev/null; run 9102 2 >/dev/null
for round in $(seq "$rounds"); do
    for port in 9101 9102; do
        name=$([ "$port" = 9101 ] && echo "old ($old_rev)" || echo "new (checkout)")
        echo "round $round $name $(run "$port" "$seconds" | awk '/Requests\/sec/ {print $2}') req/s"
    done
done
