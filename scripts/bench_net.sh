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
. "$(dirname "$0")/bench_lib.sh"

start_workers net 2 "$model"
set -- $worker_ports
w1=$1 w2=$2
"$bin/balancer" --host 127.0.0.1 --port 0 --backend "127.0.0.1:$w1" --backend "127.0.0.1:$w2" \
    --www www --results "$tmp" >"$tmp/bal.log" 2>&1 &
pids="$pids $!"
bal=$(port_from_log "$tmp/bal.log")
ngx=$(free_port)
start_nginx_random "$ngx" "$w1" "$w2"
wait_healthy "$w1" "$w2" "$bal"

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
