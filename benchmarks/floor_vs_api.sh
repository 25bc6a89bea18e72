#!/usr/bin/env bash
# GET /api/tasks/ (Django, token auth, 50 tasks) next to the bare psycopg + orjson floor
# (benchmarks/floor_app.py), both already running under gunicorn with the same worker count.
# Alternates wrk rounds between the two so both see the same machine state; prints medians.
#   benchmarks/floor_vs_api.sh TOKEN [API_URL] [FLOOR_URL] [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
TOKEN=$1
API=${2:-http://127.0.0.1:8011/api/tasks/}
FLOOR=${3:-http://127.0.0.1:8012/api/tasks/}
ROUNDS=${4:-3}
SECONDS_PER_ROUND=${5:-10}
CONNECTIONS=${6:-8}
run() { wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_ROUND}s" -H "Authorization: Token $TOKEN" "$1" \
        | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
api=(); floor=()
for round in $(seq "$ROUNDS"); do
  api+=("$(run "$API")"); floor+=("$(run "$FLOOR")")
  echo "round $round: api ${api[-1]} req/s, floor ${floor[-1]} req/s"
done
a=$(printf '%s\n' "${api[@]}" | median); f=$(printf '%s\n' "${floor[@]}" | median)
echo "median: api $a req/s, floor $f req/s, ratio $(awk -v a="$a" -v f="$f" 'BEGIN {printf "%.2f", a/f}')"
