#!/bin/sh
# make run: two workers on 127.0.0.1 ports PORT+1 and PORT+2, the balancer on PORT (all interfaces) serving
# the page; Ctrl-C stops them all.
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

backends=""
for p in $((port + 1)) $((port + 2)); do
    "$bin/worker" --host 127.0.0.1 --port "$p" --model "$model" &
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
