#!/bin/sh
# make bench-net: what the balancer costs, measured with wrk on 127.0.0.1 in one run.
#  1. A 224x224 JPEG at low load (one connection, sequential): worker alone vs through the balancer.
#  2. A small forwarded request (POST /predict with an empty body: the worker answers 400 at once, so the
#     numbers are the HTTP path, not inference) under load: worker alone, our balancer, and nginx as a
#     random load balancer (upstream with `random;`, keep-alive) over the same two workers.
# usage: bench_net.sh BIN_DIR MODEL IMAGE OUT_DIR   (writes OUT_DIR/table.md and prints it)
set -eu
bin=$1 model=$2 image=$3 out=$4
seconds=${BENCH_SECONDS:-8}
conns=${BENCH_CONNS:-32}
tmp=$(mktemp -d /tmp/imgrec-bench-XXXXXX)
pids=""

cleanup() {
    trap - EXIT INT TERM
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
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

# A free port for nginx (which cannot report one): probe upward from a random base.
free_port() {
    p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
    while nc -z 127.0.0.1 "$p" 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

for w in w1 w2; do
    "$bin/worker" --host 127.0.0.1 --port 0 --model "$model" >"$tmp/$w.log" 2>&1 &
    pids="$pids $!"
done
w1=$(port_from_log "$tmp/w1.log")
w2=$(port_from_log "$tmp/w2.log")
"$bin/balancer" --host 127.0.0.1 --port 0 --backend "127.0.0.1:$w1" --backend "127.0.0.1:$w2" \
    --www www --results "$tmp" >"$tmp/bal.log" 2>&1 &
pids="$pids $!"
bal=$(port_from_log "$tmp/bal.log")

ngx=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log $tmp/nginx/access.log;  # both balancers log every request, for a fair match
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    client_max_body_size 16m;
    upstream workers {
        random;
        server 127.0.0.1:$w1;
        server 127.0.0.1:$w2;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$ngx;
        location / {
            proxy_pass http://workers;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
nginx -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
pids="$pids $!"
for p in "$w1" "$w2" "$bal"; do
    curl -fs -o /dev/null --retry 50 --retry-delay 0 --retry-connrefused "http://127.0.0.1:$p/healthz"
done
i=0
until nc -z 127.0.0.1 "$ngx" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "nginx did not start" >&2; cat "$tmp/nginx/error.log" >&2; exit 1; }
    sleep 0.1
done

# wrk request scripts: the image as a raw body, and an empty POST.
cat >"$tmp/image.lua" <<EOF
local f = assert(io.open("$image", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
EOF
cat >"$tmp/empty.lua" <<'EOF'
wrk.method = "POST"
wrk.body = ""
EOF

# run_wrk NAME SCRIPT THREADS CONNS SECONDS URL: prints "NAME req/s p50_ms p90_ms p99_ms".
run_wrk() {
    wrk -t"$3" -c"$4" -d"$5"s --latency -s "$2" "$6" >"$tmp/$1.wrk" 2>&1 || { cat "$tmp/$1.wrk" >&2; return 1; }
    awk -v name="$1" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v
        }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) } $1 == "90%" { p90 = ms($2) } $1 == "99%" { p99 = ms($2) }
        END { printf "%s %.1f %.3f %.3f %.3f\n", name, rps, p50, p90, p99 }' "$tmp/$1.wrk"
}

echo "warming up..." >&2
run_wrk warm "$tmp/image.lua" 1 1 2 "http://127.0.0.1:$bal/predict" >/dev/null
# Worker alone and through the balancer (to the same worker), in A B B A order so drift cancels out.
half=$(( (seconds + 1) / 2 ))
echo "1/5 image: worker alone, balancer, balancer, worker alone (${half}s each)" >&2
img_w1=$(run_wrk worker-alone "$tmp/image.lua" 1 1 "$half" "http://127.0.0.1:$w1/predict")
img_b1=$(run_wrk via-balancer "$tmp/image.lua" 1 1 "$half" "http://127.0.0.1:$bal/predict?backends=1")
img_b2=$(run_wrk via-balancer "$tmp/image.lua" 1 1 "$half" "http://127.0.0.1:$bal/predict?backends=1")
img_w2=$(run_wrk worker-alone "$tmp/image.lua" 1 1 "$half" "http://127.0.0.1:$w1/predict")
echo "2/5 (done with the image)" >&2
echo "3/5 small request, worker alone" >&2
s_w=$(run_wrk worker "$tmp/empty.lua" 1 "$conns" "$seconds" "http://127.0.0.1:$w1/predict")
echo "4/5 small request, balancer" >&2
s_b=$(run_wrk balancer "$tmp/empty.lua" 1 "$conns" "$seconds" "http://127.0.0.1:$bal/predict")
echo "5/5 small request, nginx random" >&2
s_n=$(run_wrk nginx "$tmp/empty.lua" 1 "$conns" "$seconds" "http://127.0.0.1:$ngx/predict")

mkdir -p "$out"
{
    echo "# bench-net: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, wrk ${seconds}s per row"
    echo
    echo "## $(basename "$image") at low load (1 connection, sequential)"
    echo
    echo "| path | req/s | p50 ms | p90 ms | p99 ms | p50 vs worker alone (mean of its two runs) |"
    echo "| --- | --- | --- | --- | --- | --- |"
    printf '%s\n%s\n%s\n%s\n' "$img_w1" "$img_b1" "$img_b2" "$img_w2" | awk '
        { row[NR] = $0; p50[NR] = $3 } $1 == "worker-alone" { base += $3 / 2 }
        END { for (i = 1; i <= NR; i++) { split(row[i], f, " ")
            printf "| %s | %.1f | %.2f | %.2f | %.2f | %.3fx |\n", f[1], f[2], f[3], f[4], f[5], f[3] / base } }'
    echo
    echo "## small forwarded request (empty POST /predict, answered 400 by the worker), $conns connections"
    echo
    echo "| path | req/s | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n%s\n%s\n' "$s_w" "$s_b" "$s_n" | awk 'NR == 1 { b50 = $3; b99 = $5 }
        { printf "| %s | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", $1, $2, $3, $4, $5, $3 - b50, $5 - b99 }'
} >"$out/table.md"
cat "$out/table.md"
