#!/bin/sh
# Several machines without Kubernetes, emulated: the balancer and two workers each on a "host" of its own
# (a network namespace), joined by veth links, and a client on a fourth:
#
#   NAME-c 10.232.1.1 ──veth── 10.232.1.2 NAME-b 10.232.2.1 ──veth── 10.232.2.2 NAME-w1  (worker-1)
#                                                10.232.3.1 ──veth── 10.232.3.2 NAME-w2  (worker-2)
#
# Each worker listens only on its link's address (--host), as it would on a machine's LAN address.  The
# balancer finds them by name: it runs with an /etc/hosts of its own (bound over /etc/hosts in a private
# mount namespace, so nothing on this machine changes) naming worker-1 and worker-2, and "workers" for
# both, as DNS would name other machines (or a Kubernetes headless Service its pods).  Twice, with
# --backend worker-1:5001,worker-2:5001 and then with --backend workers:5001 (one backend per address),
# the client, which has a route to the balancer only, classifies pictures through it; with --policy
# round-robin both workers must answer, each with the engine's own answer.
# Prints "multihost: ok" at the end; removes every namespace and process however it ends.
#
# usage: tests/multihost.sh BIN MODEL WWW PICTURE   (root; BIN holds worker, balancer, client)
set -eu
bin=$1 model=$2 www=$3 picture=$4
[ "$(id -u)" = 0 ] || { echo "multihost: needs root (network namespaces)" >&2; exit 1; }
name=imh$$ # link names are NAME plus 3 characters: at most 15
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do
        for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
    done
    for ns in c b w1 w2; do ip netns del "$name-$ns" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "multihost: $*" >&2; for f in "$tmp"/*.log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2; done; exit 1; }

# ---- the hosts and their links --------------------------------------------------------------------------
for ns in c b w1 w2; do ip netns add "$name-$ns"; ip -n "$name-$ns" link set lo up; done
link() { # NS_A DEV_A ADDR_A NS_B DEV_B ADDR_B
    ip link add "$2" netns "$name-$1" type veth peer name "$5" netns "$name-$4"
    ip -n "$name-$1" addr add "$3/24" dev "$2"
    ip -n "$name-$4" addr add "$6/24" dev "$5"
    ip -n "$name-$1" link set "$2" up
    ip -n "$name-$4" link set "$5" up
}
link c "${name}cb" 10.232.1.1 b "${name}bc" 10.232.1.2
link b "${name}b1" 10.232.2.1 w1 "${name}1b" 10.232.2.2
link b "${name}b2" 10.232.3.1 w2 "${name}2b" 10.232.3.2
# Two names, one per worker, and one name for both (as a DNS name with two A records, or a Kubernetes
# headless Service, would be).
printf '127.0.0.1 localhost\n10.232.2.2 worker-1 workers\n10.232.3.2 worker-2 workers\n' >"$tmp/hosts"

on() { ns=$1; shift; ip netns exec "$name-$ns" "$@"; }
# Polls URL from namespace NS until it answers 200 (at most 20 s).
wait_up() {
    for _ in $(seq 200); do
        on "$1" curl -sf --max-time 1 -o /dev/null "$2" && return 0
        sleep 0.1
    done
    die "$2 did not answer from $1"
}

# ---- two workers, each on its own host and address -------------------------------------------------------
# (Started as plain commands, not through on(): $! is then the program itself, which cleanup stops.)
for i in 1 2; do
    ip netns exec "$name-w$i" "$bin/worker" --port 5001 --host "10.232.$((i + 1)).2" --model "$model" --name "worker-$i" \
        >"$tmp/worker-$i.log" 2>&1 &
    pids="$pids $!"
done
wait_up b http://10.232.2.2:5001/healthz
wait_up b http://10.232.3.2:5001/healthz
# --host: the worker listens on its link's address only, not on its host's loopback.
if on w1 curl -s --max-time 1 -o /dev/null http://127.0.0.1:5001/healthz; then
    die "worker-1 answers on 127.0.0.1, not only on its --host address"
fi
echo "multihost: two workers up on 10.232.2.2:5001 and 10.232.3.2:5001 (their --host only)"

# ---- the balancer, finding them by name ------------------------------------------------------------------
# BACKENDS: starts the balancer (as $bal_pid) with --backend BACKENDS and its own /etc/hosts; waits for it.
start_balancer() {
    on b "$bin/balancer" --check --backend "$1" --www "$www" >/dev/null || die "balancer --check refused --backend $1"
    # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
    ip netns exec "$name-b" unshare --mount --propagation private sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' \
        "$tmp/hosts" "$bin/balancer" --port 5000 --host 10.232.1.2 --backend "$1" --www "$www" \
        --policy round-robin >>"$tmp/balancer.log" 2>&1 &
    bal_pid=$!
    pids="$pids $bal_pid"
    wait_up c http://10.232.1.2:5000/healthz
    health=$(on c curl -sf --max-time 2 http://10.232.1.2:5000/healthz)
    # Each name stands for its addresses: the balancer's backends are the workers' addresses, both up.
    for a in 10.232.2.2 10.232.3.2; do
        echo "$health" | grep -q "\"address\":\"$a:5001\",\"up\":true" || die "--backend $1: /healthz does not show $a:5001 up: $health"
    done
}
stop_balancer() {
    kill "$bal_pid"
    wait "$bal_pid" || die "the balancer did not exit 0 on SIGTERM"
    pids=$(echo "$pids" | sed "s/ $bal_pid\b//")
}
[ "$(grep -c 'worker' /etc/hosts || true)" = 0 ] || die "this machine's /etc/hosts names the workers (it must not)"
# ---- a client on its own host, through the balancer ------------------------------------------------------
first_label() { sed -n 's/^{"file":"[^"]*","label":"\([^"]*\)".*/\1/p' | tr ' ' '_'; } # each answer's top-1
want=$("$bin/client" classify --model "$model" "$picture" | first_label)
[ -n "$want" ] || die "the engine gave no label for $picture"
classify_through() { # BACKENDS: 4 pictures from the client's host, 2 answered by each worker, all right
    answers=$(on c "$bin/client" classify --url http://10.232.1.2:5000 "$picture" "$picture" "$picture" "$picture") \
        || die "client classify through the balancer failed: $answers"
    for w in worker-1 worker-2; do
        got=$(echo "$answers" | grep -c "\"worker\":\"$w\"" || true)
        [ "$got" = 2 ] || die "--backend $1: $w answered $got of 4 requests (round-robin: 2 each): $answers"
    done
    n=0
    for label in $(echo "$answers" | first_label); do
        [ "$label" = "$want" ] || die "answer '$label' is not the engine's '$want'"
        n=$((n + 1))
    done
    [ "$n" = 4 ] || die "expected 4 answers with a label, got $n: $answers"
    echo "multihost: --backend $1: 4 pictures from the client's host through the balancer: 2 answered by each worker, all '$want'"
}
for backends in worker-1:5001,worker-2:5001 workers:5001; do
    start_balancer "$backends"
    classify_through "$backends"
    stop_balancer
done
echo "multihost: ok"
