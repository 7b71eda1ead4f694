#!/usr/bin/env bash
# Run every benchmark in sequence, each with a hard time limit. Results go to bench/out/.
#   bench/run_all.sh            (about 45 minutes in all on the 2-core machine)
# Everything binds 127.0.0.1 only; relay.py starts and stops its own daphne/redis processes.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=bench/out
mkdir -p "$OUT"
status=0
# The baseline peer and the profiler are not app dependencies: install them here.
$PY -m pip install -q -r bench/requirements.txt || { echo "!! could not install bench/requirements.txt"; exit 1; }

run() {  # run LIMIT_SECONDS NAME CMD...
  local limit=$1 name=$2
  shift 2
  echo "== $name (limit ${limit}s): $*"
  if timeout --kill-after=15 "$limit" "$@" > "$OUT/$name.log" 2>&1; then
    tail -n 25 "$OUT/$name.log"
  else
    echo "!! $name failed or timed out (exit $?); see $OUT/$name.log"
    tail -n 10 "$OUT/$name.log"
    status=1
  fi
}

run 300 lag   $PY bench/lag.py --changes 200 --bursts 20 --json "$OUT/lag.json"
run 300 guard $PY bench/guard.py
run 600 snapshot $PY bench/snapshot.py --repeat 5 --json "$OUT/snapshot.json"
run 300 hostile $PY bench/hostile.py --seconds 6 --json "$OUT/hostile.json"
run 480 traffic $PY bench/traffic.py --minutes 5 --json "$OUT/traffic.json"
run 780 relay $PY bench/relay.py --sessions 100,250,500,1000 --seconds 10 --search --snapshot \
  --profile 250 --budget 600 --json "$OUT/relay.json"
# Scale-out on PostgreSQL and Redis: embedded, one worker on Redis, two hashed, two split.
run 1000 scale-out $PY bench/relay.py --targets A,R,C,B --sessions 100,250,500 --seconds 10 \
  --database postgres --search --budget 780 --json "$OUT/scale-out.json"
exit $status
