#!/bin/sh
# make study: the three studies end to end, each into OUT/<study>/ (CSV, Markdown, SVG and PNG plots).
#   1 accuracy vs resolution   client accuracy (in-process: the degraded pictures are identical either way)
#   2 RTT vs image size        client rtt, on loopback and, as root, across shaped network namespaces
#   3 RTT under Poisson load   client load-study against 4 workers, each held to a fixed CPU share
#   3b topology                client topology: 4 workers with batching off and 4 with it on (same CPU
#                              share), one balancer per policy over each set; the grid, a rate step, the table
# It starts its own workers and balancers on free ports (or inside its own namespaces) and stops them,
# and removes its namespaces and cgroups, however it ends.
#
# usage: study/run.sh BIN_DIR MODEL SHARED_DIR OUT_DIR [--quick]
#   --quick: a smoke run of every step in well under a minute (make check runs it).
# Environment: STUDY_CPU_SHARE (CPU per worker in study 3, default 0.25), STUDY_ACC_LIMIT (images in
# study 1, default all of val_dev), STUDY_RATES (Mbit/s for the namespaces, default "100 10"), STUDY_PARTS
# (which studies, default "accuracy rtt load topology"), STUDY_BATCH_MAX (batching on in the topology
# study: --batch-max, default 4), STUDY_LOG (the services' log, default build/study-service.log: never under
# OUT_DIR, which the balancer serves at /results/).
set -eu

[ $# -ge 4 ] || { echo "usage: study/run.sh BIN_DIR MODEL SHARED_DIR OUT_DIR [--quick]" >&2; exit 2; }
bin=$(cd "$1" && pwd) model=$2 shared=$3 out=$4 quick=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
client=$bin/client
tag=i$$
pids=""
cgroups=""
namespaces=""
share=${STUDY_CPU_SHARE:-0.25}
parts=${STUDY_PARTS:-accuracy rtt load topology}
# Batching "on" in the topology study: an engine takes up to this many decoded requests at once.
batch_on=${STUDY_BATCH_MAX:-4}
# Study 3's workers queue up to this many requests (then 503): deep enough to show the queue growing
# under overload as in the original, shallow enough that an overloaded cell drains in a few seconds.
queue=${STUDY_QUEUE:-64}
rates=${STUDY_RATES:-100 10}
photo=$shared/eval/seed_test_images/test_2000.jpg
# Study 3's balancers: like the original's, a request goes to one worker and its 503 reaches the client
# (no retry elsewhere, which would double the load exactly when there is too much), and a worker refusing
# with a full queue is busy, not down (--max-fails high).
study_balancer="--retries 0 --max-fails 1000"
log=${STUDY_LOG:-$here/../build/study-service.log}
export OPENBLAS_NUM_THREADS=1

say() { echo "study: $*" >&2; }

cleanup() {
    trap - EXIT INT TERM
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    for ns in $namespaces; do "$here/netns.sh" destroy "$ns"; done
    for cg in $cgroups; do rmdir "$cg" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: sets $port to a TCP port no socket uses (listening or connected), counting up from a start
# that differs per run, below the kernel's ephemeral range (32768 up here): the load client's own
# connections take ports from that range, and a server started on one of them could not listen.
# (It sets a variable rather than printing: $(free_port) would count up in a subshell and hand out the
# same port twice.)
next_port=$((20000 + $$ % 10000))
free_port() {
    while ss -Htan "sport = :$next_port" | grep -q .; do next_port=$((next_port + 1)); done
    port=$next_port
    next_port=$((next_port + 1))
}

# wait_healthy PORT [NETNS]: until GET /healthz answers (10 s at most).
wait_healthy() {
    i=0
    while [ $i -lt 100 ]; do
        if [ -n "${2:-}" ]; then
            ip netns exec "$2" curl -fs -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
        else
            curl -fs -o /dev/null "http://127.0.0.1:$1/healthz" && return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    say "nothing healthy on port $1"; return 1
}

# start NETNS CMD...: runs CMD in the background (in namespace NETNS unless it is "-"); sets $started.
start() {
    where=$1; shift
    if [ "$where" = - ]; then "$@" >>"$log" 2>&1 &
    else ip netns exec "$where" "$@" >>"$log" 2>&1 &
    fi
    started=$!
    pids="$pids $started"
}

stop_all() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    pids=""
}

# cpu_limit PID NAME: holds PID to $share of one CPU.  cgroup v1 (this machine): a cpu group with
# cfs_quota_us/cfs_period_us; cgroup v2: cpu.max.  Period 10 ms so a 10-100 ms inference is throttled
# finely rather than in 100 ms gulps.  Sets $how to what it did; fails when it cannot (then no limit).
cpu_limit() {
    period=10000
    quota=$(awk -v s="$share" -v p=$period 'BEGIN { printf "%d", s * p }')
    if [ -w /sys/fs/cgroup/cpu/cgroup.procs ] 2>/dev/null && [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        cg=/sys/fs/cgroup/cpu/$2
        mkdir -p "$cg" && cgroups="$cgroups $cg"
        echo $period >"$cg/cpu.cfs_period_us" && echo "$quota" >"$cg/cpu.cfs_quota_us" &&
            echo "$1" >"$cg/cgroup.procs" && how="$share CPU by cgroup v1 cpu.cfs_quota_us=$quota cpu.cfs_period_us=$period" && return 0
    elif [ -e /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        cg=/sys/fs/cgroup/$2
        echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
        mkdir -p "$cg" && cgroups="$cgroups $cg"
        echo "$quota $period" >"$cg/cpu.max" && echo "$1" >"$cg/cgroup.procs" &&
            how="$share CPU by cgroup v2 cpu.max=\"$quota $period\"" && return 0
    fi
    return 1
}

mkdir -p "$out" "$(dirname "$log")"
rm -f "$out/service.log" # where older runs logged (served at /results/): gone
: >"$log"
# A smoke run's numbers are not measurements: say so where `client recommend` looks (STUDY_SMOKE_MARK).
rm -f "$out/SMOKE"
[ "$quick" = --quick ] && echo "smoke run (study/run.sh --quick): not for recommendations" >"$out/SMOKE"

if [ "$quick" = --quick ]; then
    acc_args="--limit 8 --sizes 16,224"
    rtt_args="--n 3 --sizes 16,224,2000"
    ns_args="--n 2 --sizes 16,2000"
    rates=10
    load_args="--workers 1,2 --factors 2,0.5 --duration 1 --max-windows 2 --calibrate 5"
    topo_args="--workers 1,2 --factors 2,0.5 --duration 0.4 --overload-duration 0.3 --min-count 8 --calibrate 5 --step-times 1,0.6,1.4"
else
    acc_args="--sizes 16,32,64,96,128,224${STUDY_ACC_LIMIT:+ --limit $STUDY_ACC_LIMIT}"
    rtt_args="--n 20"
    ns_args="--n 10"
    load_args="--duration 6 --max-windows 4 --calibrate 30"
    topo_args="--duration 8 --overload-duration 1.5 --min-count 20 --calibrate 30 --step-times 4,3,6"
fi

# ---- study 1 ----------------------------------------------------------------------------------------------
wants() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }

if wants accuracy; then
say "1/3 accuracy vs resolution"
# shellcheck disable=SC2086
"$client" accuracy --set "$shared/eval/val_dev" --model "$model" $acc_args --csv --out "$out/accuracy" >/dev/null ||
    say "accuracy reported errors (see above)"

fi

# ---- study 2: loopback, then shaped namespaces ---------------------------------------------------------
if wants rtt; then
say "2/3 RTT vs size on loopback"
free_port; w1=$port; free_port; w2=$port; free_port; bp=$port
start - "$bin/worker" --port "$w1" --model "$model"
start - "$bin/worker" --port "$w2" --model "$model"
wait_healthy "$w1"
wait_healthy "$w2"
start - "$bin/balancer" --port "$bp" --backend "127.0.0.1:$w1" --backend "127.0.0.1:$w2"
wait_healthy "$bp"
# shellcheck disable=SC2086
"$client" rtt --url "http://127.0.0.1:$bp" $rtt_args --csv --out "$out/rtt" --name loopback >/dev/null ||
    say "rtt reported errors (see above)"
# The original's files are all about 21 KB up to 224 px (heavy JPEG headers); the same sizes re-encoded
# from its 2000 px photo show what the pixels alone cost.
# shellcheck disable=SC2086
"$client" rtt --url "http://127.0.0.1:$bp" --photo "$photo" $rtt_args --csv --out "$out/rtt" \
    --name loopback-photo >/dev/null || say "rtt reported errors (see above)"
stop_all

if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
    for rate in $rates; do
        say "2/3 RTT vs size across namespaces at $rate Mbit/s"
        ns=${tag}n$rate
        namespaces="$namespaces $ns"
        "$here/netns.sh" create "$ns" "$rate"
        start "$ns-w" "$bin/worker" --port 5001 --model "$model"
        start "$ns-w" "$bin/worker" --port 5002 --model "$model"
        wait_healthy 5001 "$ns-w"
        wait_healthy 5002 "$ns-w"
        start "$ns-b" "$bin/balancer" --port 5000 --backend 10.231.2.2:5001 --backend 10.231.2.2:5002
        wait_healthy 5000 "$ns-b"
        # shellcheck disable=SC2086
        ip netns exec "$ns-c" "$client" rtt --url http://10.231.1.2:5000 $ns_args --csv --out "$out/rtt" \
            --name "netns-${rate}mbit" >/dev/null || say "rtt reported errors (see above)"
        # shellcheck disable=SC2086
        ip netns exec "$ns-c" "$client" rtt --url http://10.231.1.2:5000 --photo "$photo" $ns_args --csv \
            --out "$out/rtt" --name "netns-${rate}mbit-photo" >/dev/null || say "rtt reported errors (see above)"
        stop_all
        "$here/netns.sh" destroy "$ns"
    done
else
    say "not root: skipping the network-namespace runs of study 2"
fi
fi

# ---- study 3 ----------------------------------------------------------------------------------------------
if wants load; then
say "3/3 RTT under Poisson load (1, 2, 4 workers at $share CPU each)"
backends="" how=""
for i in 1 2 3 4; do
    free_port; p=$port
    start - "$bin/worker" --port "$p" --model "$model" --threads 1 --queue "$queue" --batch-max 1 # one image a pass: M/G/1
    cpu_limit "$started" "$tag-w$i" || how="no CPU limit (no writable cgroup): workers share the machine"
    backends="$backends --backend 127.0.0.1:$p"
    wait_healthy "$p"
done
free_port; bp=$port
# shellcheck disable=SC2086
start - "$bin/balancer" --port "$bp" $backends $study_balancer
wait_healthy "$bp"
# shellcheck disable=SC2086
"$client" load-study --url "http://127.0.0.1:$bp" $load_args --queue-bound "$queue" --csv --out "$out/load" \
    --note "Each worker: $how, one inference thread, OPENBLAS_NUM_THREADS=1, queue bound $queue (then 503); $(nproc) cores shared with the client and balancer." >/dev/null ||
    say "load-study reported errors (see above)"
stop_all
fi

# ---- study 3, second part: policies and batching ---------------------------------------------------------
if wants topology; then
say "3b/3 topology: 4 policies x batching off/on (x$batch_on), 1, 2, 4 workers at $share CPU each"
targets="" how=""
for mode in off on; do
    bmax=1; [ $mode = on ] && bmax=$batch_on
    backends=""
    for i in 1 2 3 4; do
        free_port; p=$port
        start - "$bin/worker" --port "$p" --model "$model" --threads 1 --queue "$queue" --batch-max "$bmax"
        cpu_limit "$started" "$tag-t$mode$i" || how="no CPU limit (no writable cgroup): workers share the machine"
        backends="$backends --backend 127.0.0.1:$p"
        wait_healthy "$p"
    done
    for policy in random p2c least round-robin; do
        free_port; bp=$port
        # shellcheck disable=SC2086
        start - "$bin/balancer" --port "$bp" $backends --policy "$policy" $study_balancer
        wait_healthy "$bp"
        targets="$targets --target $policy/$mode=http://127.0.0.1:$bp"
    done
done
# shellcheck disable=SC2086
"$client" topology $targets $topo_args --queue-bound "$queue" --out "$out/topology" \
    --note "Each worker: $how, one inference thread, OPENBLAS_NUM_THREADS=1, queue bound $queue (then 503); batching on = --batch-max $batch_on --batch-delay-ms 0; balancers $study_balancer; $(nproc) cores shared with the client and balancers." ||
    say "topology reported errors (see above)"
stop_all
fi

# ---- plots ------------------------------------------------------------------------------------------------
if command -v gnuplot >/dev/null; then
    gnuplot -e "dir='$out'" "$here/plot.gp"
else
    say "gnuplot missing (make deps-study): no plots"
fi
# When and where each study ran, for the page's captions (and --quick marks a smoke run, not real figures).
mode=full; [ "$quick" = --quick ] && mode="smoke (--quick)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
for part in $parts; do
    [ -d "$out/$part" ] && printf 'date: %s\nmachine: %s, %s cores, %s\nrun: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        "$(hostname)" "$(nproc)" "${cpu:-unknown CPU}" "$mode" >"$out/$part/run.txt"
done
say "done: $out"
