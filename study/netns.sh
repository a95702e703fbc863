#!/bin/sh
# The emulated network of study 2: client, balancer and workers each in their own network namespace,
#
#     NAME-c  10.231.1.1 ──veth── 10.231.1.2  NAME-b  10.231.2.1 ──veth── 10.231.2.2  NAME-w
#
# with every veth end limited by a token bucket (tc tbf) to RATE Mbit/s in its sending direction, so an
# image pays link time both on the way to the balancer and on the way to the worker, as on GENI.
# (netem is not available here, so there is no added delay: only bandwidth is emulated.)
# The namespaces are the only routing: the balancer terminates connections, so no forwarding is needed.
#
# usage: study/netns.sh create NAME RATE_MBIT   (root; NAME at most 13 characters: it prefixes link names)
#        study/netns.sh destroy NAME            (removes whatever of NAME exists; never fails)
#        study/netns.sh selftest                (create, check TCP across both links and the shaping, destroy)
set -eu

CLIENT_IP=10.231.1.1 BALANCER_IP=10.231.1.2 BALANCER_BACK_IP=10.231.2.1 WORKER_IP=10.231.2.2

die() { echo "netns.sh: $*" >&2; exit 1; }

# Token bucket on one interface.  The bucket holds 1 ms of the rate (at least 4 KiB): a larger one would
# let a whole small image through at line speed after an idle gap, so it would pay no link time at all.
# tbf splits GSO super-packets larger than the bucket itself, so a small bucket drops nothing; the queue
# (latency) holds enough for TCP to be shaped rather than dropped.
shape() {
    burst=$(( $3 * 125 > 4096 ? $3 * 125 : 4096 ))
    ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3"mbit burst "$burst" latency 400ms
}

create() {
    name=$1 rate=$2
    [ "$(id -u)" = 0 ] || die "needs root"
    case $name in *[!a-z0-9]* | "" ) die "NAME must be short lowercase letters and digits" ;; esac
    [ ${#name} -le 13 ] || die "NAME must be at most 13 characters (link names, NAME plus two letters, are limited to 15)"
    case $rate in *[!0-9]* | "" ) die "RATE_MBIT must be a whole number" ;; esac
    for ns in c b w; do ip netns add "$name-$ns"; ip -n "$name-$ns" link set lo up; done
    ip link add "${name}cb" netns "$name-c" type veth peer name "${name}bc" netns "$name-b"
    ip link add "${name}bw" netns "$name-b" type veth peer name "${name}wb" netns "$name-w"
    ip -n "$name-c" addr add "$CLIENT_IP/24" dev "${name}cb"
    ip -n "$name-b" addr add "$BALANCER_IP/24" dev "${name}bc"
    ip -n "$name-b" addr add "$BALANCER_BACK_IP/24" dev "${name}bw"
    ip -n "$name-w" addr add "$WORKER_IP/24" dev "${name}wb"
    for pair in c:cb b:bc b:bw w:wb; do
        ns=${pair%%:*} dev=$name${pair#*:}
        ip -n "$name-$ns" link set "$dev" up
        shape "$name-$ns" "$dev" "$rate"
    done
}

destroy() {
    for ns in c b w; do
        # Deleting a namespace deletes its veth ends (and with them their peers).
        ip netns del "$1-$ns" 2>/dev/null || true
    done
}

# Seconds (with decimals) that sending BYTES from namespace $1 to $2:$3 takes.
timed_send() {
    ip netns exec "$2" sh -c "timeout 20 nc -l $3 > /dev/null" &
    listener=$!
    sleep 0.3
    start=$(date +%s.%N)
    head -c "$4" /dev/zero | ip netns exec "$1" timeout 20 nc -N "$5" "$3"
    wait "$listener"
    end=$(date +%s.%N)
    echo "$start $end" | awk '{ printf "%.3f", $2 - $1 }'
}

selftest() {
    [ "$(id -u)" = 0 ] || die "selftest needs root"
    name=irt$$
    trap 'destroy "$name"' EXIT INT TERM
    create "$name" 10
    # 1 MB at 10 Mbit/s takes at least 0.8 s if the link is shaped, far less if it is not.
    t=$(timed_send "$name-c" "$name-b" 7001 1000000 "$BALANCER_IP")
    echo "client -> balancer: 1 MB in $t s at 10 Mbit/s"
    awk -v t="$t" 'BEGIN { exit !(t >= 0.7 && t < 5) }' || die "client link not shaped as expected ($t s)"
    t=$(timed_send "$name-b" "$name-w" 7002 1000000 "$WORKER_IP")
    echo "balancer -> worker: 1 MB in $t s at 10 Mbit/s"
    awk -v t="$t" 'BEGIN { exit !(t >= 0.7 && t < 5) }' || die "worker link not shaped as expected ($t s)"
    destroy "$name"
    trap - EXIT INT TERM
    for ns in c b w; do
        ip netns list | grep -q "^$name-$ns" && die "namespace $name-$ns left behind"
    done
    echo "netns selftest: ok"
}

case ${1:-} in
    create) [ $# = 3 ] || die "usage: netns.sh create NAME RATE_MBIT"; create "$2" "$3" ;;
    destroy) [ $# = 2 ] || die "usage: netns.sh destroy NAME"; destroy "$2" ;;
    selftest) selftest ;;
    *) die "usage: netns.sh create NAME RATE_MBIT | destroy NAME | selftest" ;;
esac
