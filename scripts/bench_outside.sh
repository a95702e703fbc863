#!/bin/sh
# The whole per-image cost seen from outside (make bench): one worker with one engine on the model, and
# `client classify --url` on COPIES copies of one JPEG, sequentially (HTTP, decode, resize, forward, JSON).
# Prints the per-image milliseconds and their ratio to ONNX Runtime's forward median of the same run.
# usage: bench_outside.sh BIN_DIR MODEL IMAGE COPIES ORT_MEDIAN_MS
set -eu
bin=$1 model=$2 image=$3 copies=$4 ort_ms=$5
. "$(dirname "$0")/bench_lib.sh"

i=0
while [ $i -lt "$copies" ]; do cp "$image" "$tmp/img$i.jpg"; i=$((i + 1)); done
start_workers outside 1 "$model" --engines 1 --threads 1
set -- $worker_ports
port=$1
wait_healthy "$port"
path=$(sed -n 's/.*engine path \([a-z0-9]*\).*/\1/p' "$tmp/outside-w1.log" | head -n1)
url=http://127.0.0.1:$port
"$bin/client" classify --url "$url" "$tmp/img0.jpg" "$tmp/img1.jpg" >/dev/null # warm: connection, caches
t0=$(date +%s%N)
"$bin/client" classify --url "$url" "$tmp"/img*.jpg >"$tmp/answers.json"
t1=$(date +%s%N)
answered=$(grep -c '"label"' "$tmp/answers.json" || true)
[ "$answered" = "$copies" ] || { echo "bench-outside: $answered of $copies images answered" >&2; exit 1; }
awk -v ns=$((t1 - t0)) -v n="$copies" -v ort="$ort_ms" -v img="$(basename "$image")" -v path="$path" 'BEGIN {
    ms = ns / 1e6 / n
    printf "from outside: client classify on %d copies of %s, one worker (1 engine, %s path): %.2f ms per image = %.2fx ONNX Runtime forward median %.2f ms (bar <= 0.85x)\n", n, img, path, ms, ms / ort, ort
}'
# Where it goes: the worker's own timings of each answer (queue, decode, inference) and the client's RTT.
for f in queue decode inference total; do
    sed -n "s/.*\"$f\":\([0-9.]*\).*/\1/p" "$tmp/answers.json" | sort -n | awk -v f="$f" '{ v[NR] = $1 }
        END { printf "  median %s %.2f ms", f, v[int((NR + 1) / 2)] }'
done
sed -n 's/.*"rtt_ms":\([0-9.]*\).*/\1/p' "$tmp/answers.json" | sort -n | awk '{ v[NR] = $1 }
    END { printf "  median rtt %.2f ms (worker timings, client RTT)\n", v[int((NR + 1) / 2)] }'
