# bench_lib.sh: what the bench scripts share (sourced, not run).  Sets $tmp (removed at exit) and $pids
# (killed at exit); every helper bounds its waits.
tmp=$(mktemp -d /tmp/imgrec-bench-XXXXXX)
pids=""

bench_cleanup() {
    trap - EXIT INT TERM
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# Prints the port a program started with --port 0 reports in its log ("... listening on ... N").
port_from_log() {
    i=0
    while [ $i -lt 100 ]; do
        port=$(sed -n 's/.*listening on [^0-9]*\([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        sleep 0.1
        i=$((i + 1))
    done
    echo "did not start:" >&2
    cat "$1" >&2
    return 1
}

# A free port for programs that cannot report one: probe upward from a random base.
free_port() {
    p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
    while nc -z 127.0.0.1 "$p" 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

# wait_healthy PORT...: GET /healthz answers on each (at most 10 s each).
wait_healthy() {
    for p in "$@"; do
        curl -fs -o /dev/null --max-time 2 --retry 100 --retry-delay 0 --retry-max-time 10 --retry-connrefused \
            "http://127.0.0.1:$p/healthz" || { echo "nothing healthy on port $p" >&2; return 1; }
    done
}

# start_workers NAME N MODEL [worker options]: N imgrec workers on free ports (logs $tmp/NAME-w<i>.log);
# sets $worker_ports.
start_workers() {
    wname=$1 n=$2 wmodel=$3
    shift 3
    worker_ports=""
    i=1
    while [ $i -le "$n" ]; do
        "$bin/worker" --host 127.0.0.1 --port 0 --model "$wmodel" "$@" >"$tmp/$wname-w$i.log" 2>&1 &
        pids="$pids $!"
        worker_ports="$worker_ports $(port_from_log "$tmp/$wname-w$i.log")"
        i=$((i + 1))
    done
}

# start_nginx_random PORT BACKEND_PORT...: nginx as a random load balancer with keep-alive upstreams.
start_nginx_random() {
    ngx_port=$1
    shift
    d=$tmp/nginx-$ngx_port
    mkdir -p "$d"
    servers=""
    for b in "$@"; do servers="$servers server 127.0.0.1:$b;"; done
    cat >"$d/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $d/nginx.pid;
events { worker_connections 4096; }
http {
    access_log $d/access.log;  # both balancers log every request, for a fair match
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    client_max_body_size 16m;
    client_body_buffer_size 16m;  # bodies stay in memory, as in our balancer (and the temp dir is ours alone)
    upstream workers {
        random;
        $servers
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$ngx_port;
        location / {
            proxy_pass http://workers;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
    nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" &
    pids="$pids $!"
    i=0
    until nc -z 127.0.0.1 "$ngx_port" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "nginx did not start" >&2; cat "$d/error.log" >&2; return 1; }
        sleep 0.1
    done
}

# run_wrk NAME SCRIPT THREADS CONNS SECONDS URL: prints "NAME req/s p50_ms p90_ms p99_ms non2xx errors ok/s"
# (non2xx: answers that were not 2xx/3xx; errors: connect/read/write/timeout errors; ok/s: the 2xx/3xx
# answers per second, so that fast refusals never pass for throughput).  Latencies are over all answers.
run_wrk() {
    wrk -t"$3" -c"$4" -d"$5"s --timeout 10s --latency -s "$2" "$6" >"$tmp/$1.wrk" 2>&1 || { cat "$tmp/$1.wrk" >&2; return 1; }
    awk -v name="$1" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v
        }
        /Requests\/sec:/ { rps = $2 }
        / requests in / { n = $1; secs = $4 + 0 }
        $1 == "50%" { p50 = ms($2) } $1 == "90%" { p90 = ms($2) } $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
        END { printf "%s %.1f %.3f %.3f %.3f %d %d %.1f\n", name, rps, p50, p90, p99, bad, errs, (n - bad) / secs }' "$tmp/$1.wrk"
}
