#!/bin/sh
# The installed programs under the restrictions the systemd units and the Kubernetes pods put on them,
# emulated without systemd (this machine's PID 1 is not systemd, so the units cannot be started here):
#   - an unprivileged user (65532, the pods' runAsUser; a DynamicUser is another such uid), no
#     capabilities, no_new_privs (NoNewPrivileges=, allowPrivilegeEscalation: false);
#   - a read-only root file system and a private /tmp (ProtectSystem=strict, PrivateTmp=,
#     readOnlyRootFilesystem: true), in a private mount namespace;
#   - traced by strace while they start, serve a picture, take SIGHUP (systemctl reload) and SIGTERM
#     (systemctl stop): every system call they make must be in the units' SystemCallFilter=@system-service
#     (expanded by systemd-analyze itself), every socket in RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX,
#     and no mapping may ask for write and execute at once (MemoryDenyWriteExecute=).
# Prints "hardening check: ok" at the end.  Root only (namespaces, setpriv).
#
# usage: tests/hardening_check.sh ROOT PICTURE WORKER_PORT BALANCER_PORT
#        (ROOT: a tree installed with PREFIX=/usr/local, i.e. DESTDIR/usr/local, which the programs see
#        bound over /usr/local, read-only; two free ports on 127.0.0.1)
set -eu
root=$1 picture=$2 wport=$3 bport=$4
[ "$(id -u)" = 0 ] || { echo "hardening check: needs root" >&2; exit 1; }
# LeakSanitizer (a SANITIZE=1 build) cannot run under ptrace; leaks are the other suites' business.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
tmp=$(mktemp -d -p /var/tmp) # not under /tmp: the programs get a /tmp of their own
chmod 755 "$tmp"
mkdir -m 777 "$tmp/trace"
pids=""
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "hardening check: $*" >&2; for f in "$tmp"/*.log; do [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" >&2; done; exit 1; }

# @system-service with every @group in it expanded, as systemd-analyze lists the groups.
systemd-analyze syscall-filter 2>/dev/null | awk '
    /^@/ { g = $1; next }
    /^ *#/ || NF == 0 { next }
    { members[g] = members[g] " " $1 }
    function expand(x,   n, i, parts) {
        if (x in seen) return; seen[x] = 1
        if (substr(x, 1, 1) != "@") { print x; return }
        n = split(members[x], parts, " ")
        for (i = 1; i <= n; i++) expand(parts[i])
    }
    END { expand("@system-service") }' | sort -u >"$tmp/allowed"
[ "$(wc -l <"$tmp/allowed")" -gt 100 ] || die "could not expand @system-service with systemd-analyze"

# NAME PORT PROGRAM ARGS...: runs it restricted and traced, in the background; its pid in $!.
restricted() {
    name=$1 port=$2
    shift 2
    # shellcheck disable=SC2016 # the inner shell expands its own $1 and $@
    unshare --mount --propagation private sh -c '
        trace=$1 root=$2; shift 2
        mount --bind "$root" /usr/local            # the installed tree where it is installed
        mount -o remount,bind,ro /usr/local
        mount --bind "$trace" "$trace"             # the trace folder stays writable ...
        mount -o remount,bind,ro /                 # ... the rest of the root file system does not
        mount -t tmpfs -o mode=1777 tmpfs /tmp
        exec setpriv --reuid 65532 --regid 65532 --clear-groups --no-new-privs --inh-caps=-all \
            --bounding-set=-all strace -f -qq -o "$trace/'"$name"'" "$@"' sh "$tmp/trace" "$root" "$@" \
        >"$tmp/$name.log" 2>&1 &
    pids="$pids $!"
    for _ in $(seq 200); do
        curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
        kill -0 "$!" 2>/dev/null || die "$name exited at start"
        sleep 0.1
    done
    die "$name did not become healthy"
}
restricted worker "$wport" /usr/local/bin/worker --port "$wport" --host 127.0.0.1 \
    --model /usr/local/share/imgrec/mobilenet_v2_1.0_224_quant.tflite
wpid=$!
restricted balancer "$bport" /usr/local/bin/balancer --port "$bport" --host 127.0.0.1 --backend "127.0.0.1:$wport" \
    --www /usr/local/share/imgrec/www
bpid=$!
code=$(curl -s --max-time 10 -o "$tmp/answer" -w '%{http_code}' -F "image=@$picture" "http://127.0.0.1:$bport/predict")
[ "$code" = 200 ] && grep -q '"label":"' "$tmp/answer" || die "a picture through the balancer got $code: $(cat "$tmp/answer")"
curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$bport/" || die "the page was not served"
echo "hardening check: worker and balancer as uid 65532, no capabilities, no_new_privs, read-only /: a picture answered"
# $! is strace (unshare, sh and setpriv exec into each other); the program is its child.
for p in $wpid $bpid; do
    prog=$(pgrep -P "$p" | head -1)
    [ -n "$prog" ] || die "no program under strace $p"
    kill -HUP "$prog"
    sleep 0.2
    kill -0 "$prog" || die "SIGHUP ended pid $prog"
    kill -TERM "$prog"
done
for p in $wpid $bpid; do wait "$p" || die "a program did not exit 0 on SIGTERM"; done
pids=""
echo "hardening check: SIGHUP left both running, SIGTERM ended both with 0"

for name in worker balancer; do
    t=$tmp/trace/$name
    [ -s "$t" ] || die "no trace of $name"
    # Only what the program did: from its execve on (setpriv's own work before it is not the program's).
    sed -n "/execve(\"[^\"]*\/bin\/$name\"/,\$p" "$t" >"$t.own"
    [ -s "$t.own" ] || die "the trace of $name has no execve of the program"
    sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p; s/^[0-9]* *<\.\.\. \([a-z0-9_]*\) resumed>.*/\1/p' "$t.own" | sort -u >"$t.calls"
    outside=$(comm -23 "$t.calls" "$tmp/allowed" | tr '\n' ' ')
    [ -z "$outside" ] || die "$name made system calls outside @system-service: $outside"
    families=$(sed -n 's/^[0-9]* *socket(\([A-Z0-9_]*\),.*/\1/p' "$t.own" | sort -u | tr '\n' ' ')
    for f in $families; do
        case $f in AF_INET | AF_INET6 | AF_UNIX) ;; *) die "$name opened a socket of family $f" ;; esac
    done
    wx=$(grep -E '(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC|PROT_EXEC\|PROT_WRITE' "$t.own" | head -3 || true)
    [ -z "$wx" ] || die "$name asked for memory both writable and executable: $wx"
    echo "hardening check: $name: $(wc -l <"$t.calls") distinct system calls, all in @system-service; sockets: ${families:-none}; no W+X mapping"
done
echo "hardening check: ok"
