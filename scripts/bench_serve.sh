#!/bin/sh
# make bench-serve: the whole service against a peer, same machine, same client, one run.
#   imgrec: our balancer + 2 workers (the real model), the picture posted as a form to /submit;
#   peer:   nginx `random;` (keep-alive upstreams) + 2 serve_ort.js workers (Node, sharp, ONNX Runtime,
#           1 thread each), the picture posted as the raw body to /predict (the only form it takes).
# wrk (one Lua script per side) at 1, 8 and 32 connections: RTT p50/p99 and images/s, with imgrec/peer
# ratios; then one open-loop Poisson run of `client load` at the same rate against both.
# usage: bench_serve.sh BIN_DIR MODEL IMAGE SHARED PEER_MODULES OUT_DIR  (writes OUT_DIR/table.md, prints it)
#   PEER_MODULES: the node_modules folder holding onnxruntime-node and sharp.
#   BENCH_SECONDS (default 8) per wrk row; BENCH_CONNS (default "1 8 32");
#   BENCH_WORKER_OPTS: options for imgrec's workers (default "--queue 32 --batch-max 1": room for every
#   connection, as the peer, whose queue is unbounded, has, so both sides answer every request and the rows
#   compare like work; one image a pass); BENCH_BATCH_OPTS: the batched side's (default "--queue 32
#   --batch-max 4", the worker's default batch).
set -eu
[ -n "${BENCH_DEBUG:-}" ] && set -x
bin=$1 model=$2 image=$3 shared=$4 mods=$5 out=$6
seconds=${BENCH_SECONDS:-8}
conn_list=${BENCH_CONNS:-1 8 32}
. "$(dirname "$0")/bench_lib.sh"

# start_imgrec NAME WORKER_OPTIONS: balancer + 2 workers; sets $bport, the balancer's port.
start_imgrec() {
    # shellcheck disable=SC2086 # the options are words
    start_workers "$1" 2 "$model" $2
    set -- "$1" $worker_ports
    "$bin/balancer" --host 127.0.0.1 --port 0 --backend "127.0.0.1:$2" --backend "127.0.0.1:$3" \
        --www www --results "$tmp" >"$tmp/$1-bal.log" 2>&1 &
    pids="$pids $!"
    bport=$(port_from_log "$tmp/$1-bal.log")
    wait_healthy "$2" "$3" "$bport"
}
worker_opts=${BENCH_WORKER_OPTS:---queue 32 --batch-max 1}
batch_opts=${BENCH_BATCH_OPTS:---queue 32 --batch-max 4}
start_imgrec imgrec "$worker_opts"
imgrec_url="http://127.0.0.1:$bport/submit"
start_imgrec batched "$batch_opts"
batched_url="http://127.0.0.1:$bport/submit"

# peer: nginx random + 2 serve_ort.js
peer_ports=""
for i in 1 2; do
    p=$(free_port)
    ORT_MODULE=$mods/onnxruntime-node SHARP_MODULE=$mods/sharp node "$shared/peers/serve_ort.js" "$p" \
        "$shared/peers/mobilenet_v2_1001_f32.onnx" "$shared/weights/imagenet_labels_1001.txt" \
        >"$tmp/ort$i.log" 2>&1 &
    pids="$pids $!"
    wait_healthy "$p"
    peer_ports="$peer_ports $p"
done
ngx=$(free_port)
# shellcheck disable=SC2086
start_nginx_random "$ngx" $peer_ports

peer_url="http://127.0.0.1:$ngx/predict"
# Both must give the same answer before anything is timed.
a=$(curl -fsS -F "image=@$image" "$imgrec_url")
a2=$(curl -fsS -F "image=@$image" "$batched_url")
b=$(curl -fsS --data-binary "@$image" "$peer_url")
for ans in "$a" "$a2" "$b"; do
    case $ans in *'"class_index":802,'*) ;; *) echo "bench-serve: unexpected answer: $ans" >&2; exit 1 ;; esac
done

# wrk request scripts: imgrec gets the form the README's curl sends, the peer the raw body.
printf '%s\n' "local f = assert(io.open(\"$image\", \"rb\"))" 'local img = f:read("*a")' 'f:close()' \
    'local boundary = "imgrec-bench-5f0c2a9d81e4"' 'wrk.method = "POST"' \
    'wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary' \
    'wrk.body = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"test.jpg\"\r\n" ..' \
    '           "Content-Type: image/jpeg\r\n\r\n" .. img .. "\r\n--" .. boundary .. "--\r\n"' >"$tmp/form.lua"
printf '%s\n' "local f = assert(io.open(\"$image\", \"rb\"))" 'wrk.method = "POST"' 'wrk.body = f:read("*a")' \
    'f:close()' 'wrk.headers["Content-Type"] = "image/jpeg"' >"$tmp/raw.lua"

echo "warming up both..." >&2
run_wrk warm "$tmp/form.lua" 1 2 2 "$imgrec_url" >/dev/null
run_wrk warm "$tmp/form.lua" 1 2 2 "$batched_url" >/dev/null
run_wrk warm "$tmp/raw.lua" 1 2 2 "$peer_url" >/dev/null

# One pair of rows per connection count; the order alternates so drift does not always favour one side.
# A row: "conns  imgrec: name rps p50 p90 p99 non2xx errs ok/s  peer: the same  batched: the same"
# ($2-$9, $10-$17, $18-$25).
rows=""
flip=0
for c in $conn_list; do
    t=1
    [ "$c" -gt 1 ] && t=2
    echo "wrk, $c connection(s), ${seconds}s each side" >&2
    if [ $flip = 0 ]; then
        r1=$(run_wrk "imgrec-$c" "$tmp/form.lua" "$t" "$c" "$seconds" "$imgrec_url")
        r2=$(run_wrk "peer-$c" "$tmp/raw.lua" "$t" "$c" "$seconds" "$peer_url")
        r3=$(run_wrk "batched-$c" "$tmp/form.lua" "$t" "$c" "$seconds" "$batched_url")
    else
        r3=$(run_wrk "batched-$c" "$tmp/form.lua" "$t" "$c" "$seconds" "$batched_url")
        r2=$(run_wrk "peer-$c" "$tmp/raw.lua" "$t" "$c" "$seconds" "$peer_url")
        r1=$(run_wrk "imgrec-$c" "$tmp/form.lua" "$t" "$c" "$seconds" "$imgrec_url")
    fi
    flip=$((1 - flip))
    rows="$rows$c $r1 $r2 $r3
"
done

# Open loop: Poisson arrivals at 70% of the slower side's best wrk throughput, the same schedule (seed) for both.
rate=$(printf '%s' "$rows" | awk '{ m = ($9 < $17 ? $9 : $17); if (m > best) best = m } END { printf "%.1f", 0.7 * best }')
poisson() { # NAME URL [client options]: prints "NAME mean p50 p99 ok sent throughput"
    name=$1 url=$2
    shift 2
    "$bin/client" load --url "$url" --rate "$rate" --duration 5 --max-windows 2 --image "$image" --csv "$@" \
        >"$tmp/$name.csv" 2>"$tmp/$name.err" || { cat "$tmp/$name.err" >&2; return 1; }
    awk -F, -v name="$name" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { print name, $col["mean_ms"], $col["p50_ms"], $col["p99_ms"], $col["ok"], $col["sent"], $col["throughput_rps"] }' \
        "$tmp/$name.csv"
}
echo "client load (open loop, Poisson, $rate/s, 2 windows of 5 s at most), both sides" >&2
p1=$(poisson imgrec "$imgrec_url")
p2=$(poisson peer "$peer_url" --raw-body)
p3=$(poisson batched "$batched_url")

mkdir -p "$out"
{
    echo "# bench-serve: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n1)), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
    echo
    echo "imgrec = our balancer + 2 workers (1 decoder + 1 engine thread each, $worker_opts), form upload to /submit;"
    echo "imgrec, batched = the same with $batch_opts (a batch runs as single-image passes until nn has a batched one);"
    echo "peer = nginx \`random;\` + 2 serve_ort.js (sharp + ONNX Runtime, 1 thread each), raw body to /predict."
    echo "Picture: $(basename "$image"). wrk ${seconds}s per row, closed loop; ratios are imgrec / peer from this run."
    echo "The machine is shared and noisy: compare rows of one run, not runs."
    echo
    echo "| connections | side | images/s (2xx) | p50 ms | p99 ms | non-2xx | socket errors | images/s ratio | p50 ratio | p99 ratio |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s' "$rows" | awk '{
        printf "| %s | imgrec | %.1f | %.2f | %.2f | %d | %d | **%.2fx** | **%.2fx** | %.2fx |\n",
            $1, $9, $4, $6, $7, $8, $9 / $17, $4 / $12, $6 / $14
        printf "| %s | imgrec, batched | %.1f | %.2f | %.2f | %d | %d | %.2fx | %.2fx | %.2fx |\n",
            $1, $25, $20, $22, $23, $24, $25 / $17, $20 / $12, $22 / $14
        printf "| %s | peer | %.1f | %.2f | %.2f | %d | %d | | | |\n", $1, $17, $12, $14, $15, $16 }'
    echo
    echo "## open loop: \`client load\`, Poisson arrivals at $rate/s (70% of the slower side's best images/s), same seed"
    echo
    echo "| side | mean ms | p50 ms | p99 ms | answered / sent | images/s |"
    echo "| --- | --- | --- | --- | --- | --- |"
    printf '%s\n%s\n%s\n' "$p1" "$p2" "$p3" | awk '{ printf "| %s | %.2f | %.2f | %.2f | %s / %s | %.1f |\n", $1, $2, $3, $4, $5, $6, $7
        m[NR] = $2; p50[NR] = $3; p99[NR] = $4 }
        END { printf "| ratio imgrec / peer | **%.2fx** | **%.2fx** | %.2fx | | |\n", m[1] / m[2], p50[1] / p50[2], p99[1] / p99[2]
              printf "| ratio batched / peer | %.2fx | %.2fx | %.2fx | | |\n", m[3] / m[2], p50[3] / p50[2], p99[3] / p99[2] }'
} >"$out/table.md"
cat "$out/table.md"
