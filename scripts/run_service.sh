#!/bin/sh
# make run: two workers on 127.0.0.1 ports PORT+1 and PORT+2, the balancer on PORT (all interfaces) serving
# the page; Ctrl-C stops them all.  A worker that exits is restarted (after 1 s, doubling up to 30 s while
# it keeps dying within 10 s of its start), and each restart is logged.
# usage: run_service.sh BIN_DIR MODEL PORT WWW_DIR SHARED_DIR [EXAMPLES_DIR]
# The page offers the pictures of EXAMPLES_DIR (when it exists) as examples to click.
set -u
bin=$1 model=$2 port=$3 www=$4 shared=$5 examples=${6:-}
pids=""

stop() {
    trap - INT TERM EXIT
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait
    echo "stopped"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Fails at once when something already answers on a port we need (curl exits 7 only when refused).
for p in "$port" $((port + 1)) $((port + 2)); do
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$p/" 2>/dev/null
    if [ $? -ne 7 ]; then
        echo "port $p is already in use (another 'make run'?); stop it, or pick other ports: make run PORT=$((port + 10))" >&2
        exit 1
    fi
done

# Waits until GET /healthz on the port answers, or the process has died.
wait_healthy() {
    i=0
    while [ $i -lt 100 ]; do
        curl -fs -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# Runs the worker on port $1 and starts it again whenever it exits, until this subshell is told to stop.
supervise() {
    wpid=""
    trap '[ -n "$wpid" ] && kill "$wpid" 2>/dev/null; wait; exit 0' INT TERM
    delay=1
    while :; do
        started=$(date +%s)
        "$bin/worker" --host 127.0.0.1 --port "$1" --model "$model" &
        wpid=$!
        wait "$wpid"
        rc=$?
        wpid=""
        if [ $(($(date +%s) - started)) -ge 10 ]; then delay=1; fi
        echo "run: worker on port $1 exited (status $rc); restarting in ${delay}s" >&2
        sleep "$delay"
        delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
}

backends=""
for p in $((port + 1)) $((port + 2)); do
    supervise "$p" &
    pid=$!
    pids="$pids $pid"
    wait_healthy "$p" "$pid" || { echo "worker on port $p did not start" >&2; exit 1; }
    backends="$backends --backend 127.0.0.1:$p"
done
[ -n "$examples" ] && [ -d "$examples" ] && backends="$backends --examples $examples"
"$bin/balancer" --port "$port" $backends --www "$www" --results results &
pid=$!
pids="$pids $pid"
wait_healthy "$port" "$pid" || { echo "balancer on port $port did not start" >&2; exit 1; }
echo
echo "imgrec is up: open http://localhost:$port/   (Ctrl-C stops it)"
echo "  try:  curl -F image=@$shared/eval/seed_test_images/test_224.jpg http://localhost:$port/submit"
echo
wait "$pid"
