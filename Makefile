# imgrec: one Makefile for everything.  `make run` starts the service, `make check` runs every test.

# ---- where things are (the only place these paths live) --------------------------------------------
SHARED    ?= ../shared
MODEL     := weights/mobilenet_v2_1.0_224_quant.tflite
MODEL_PTQ := weights/tf2_mobilenet_v2_1.0_224_ptq.tflite
PORT      ?= 5000
EXAMPLES  := $(SHARED)/eval/seed_test_images

# ---- Debian packages each step needs (installed when run as root, else the exact apt-get line) ----------
DEBS_BUILD := gcc make pkg-config libopenblas-dev libstb-dev check curl ca-certificates
# npm only when no npm is on PATH: NodeSource's nodejs ships its own npm and conflicts with Debian's.
NPM_DEB    := $(if $(shell command -v npm 2>/dev/null),,npm)
DEBS_CHECK := netcat-openbsd nodejs $(NPM_DEB) chromium netpbm prometheus dnsmasq-base
DEBS_BENCH := wrk nginx netcat-openbsd curl nodejs $(NPM_DEB)
DEBS_STUDY := gnuplot-nox iproute2

# ---- build flavours ------------------------------------------------------------------------------------
ifeq ($(SANITIZE),1)
B   := build/asan
BIN := build/asan
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
else
B   := build/rel
BIN := .
SAN :=
endif

PKGS    := openblas stb
CC      ?= cc
CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP -I. $(SAN)
# Recursive on purpose: pkg-config is asked only after the deps step has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lm -pthread
CHECK_LIBS = $(shell pkg-config --libs check)

NET_SRC := $(wildcard net/*.c)
NN_SRC  := $(wildcard nn/*.c nn/*/*.c)
NET_OBJ := $(NET_SRC:%.c=$(B)/%.o)
NN_OBJ  := $(NN_SRC:%.c=$(B)/%.o)
BALANCE_SRC := $(wildcard balance/*.c)
BALANCE_OBJ := $(BALANCE_SRC:%.c=$(B)/%.o)
INFER_SRC := $(wildcard infer/*.c)
INFER_OBJ := $(INFER_SRC:%.c=$(B)/%.o)
# tests/*.c that are not suites, fuzz targets, benchmarks or the main: helpers linked into every suite
TEST_HELPERS := $(patsubst %.c,$(B)/%.o,$(filter-out tests/test_% tests/fuzz_% tests/bench_% tests/check_main.c,$(wildcard tests/*.c)))
STUDY_SRC := $(wildcard study/*.c)
STUDY_OBJ := $(STUDY_SRC:%.c=$(B)/%.o)
TESTS   := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
PROGS   := $(BIN)/worker $(BIN)/balancer $(BIN)/client

# Environment every test and benchmark gets: the one place the shared data and model paths come from.
TEST_ENV := IMGREC_SHARED=$(abspath $(SHARED)) IMGREC_MODEL=$(abspath $(MODEL)) \
            IMGREC_MODEL_PTQ=$(abspath $(MODEL_PTQ)) IMGREC_BIN=$(abspath $(BIN)) IMGREC_WWW=$(abspath www) \
            IMGREC_TESTS=$(abspath tests) NODE_PATH=$(abspath build/node_modules)

.PHONY: all model run check check-aarch64 test bench bench-net bench-serve bench-image fuzz clean deps-check deps-bench deps-study study
all: $(PROGS) model

# ---- dependencies ----------------------------------------------------------------------------------------
# $(call need_debs,LIST): install what is missing (as root) or stop with the line to run.
define need_debs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ] && command -v dpkg-query >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:" $$missing; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) || exit 1; \
	  else \
	    echo "missing Debian packages; run:  sudo apt-get install -y" $$missing; exit 1; \
	  fi; \
	fi
endef

build/.deps-build: Makefile
	$(call need_debs,$(DEBS_BUILD))
	@mkdir -p build && touch $@
deps-check: build/.deps-build
	$(call need_debs,$(DEBS_CHECK))
deps-bench: build/.deps-build
	$(call need_debs,$(DEBS_BENCH))
deps-study: build/.deps-build
	$(call need_debs,$(DEBS_STUDY))

# ---- the model -------------------------------------------------------------------------------------------
model: $(MODEL) $(MODEL_PTQ)
weights/%.tflite: weights/fetch.sh | build/.deps-build
	@weights/fetch.sh $*.tflite $(SHARED) $@

# ---- compiling -------------------------------------------------------------------------------------------
$(B)/%.o: %.c | build/.deps-build
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# nn's plain-loop kernels: -O3 lets GCC vectorize loops whose trip count is only known at run time.
NN_O3 := $(addprefix nn/kernels/,conv.o add.o epilogue.o fully_connected.o softmax.o pool.o)
$(addprefix $(B)/,$(NN_O3)): CFLAGS += -O3

# One static library per folder (the recipe is the pattern rule's).
$(B)/libnet.a: $(NET_OBJ)
$(B)/libnn.a: $(NN_OBJ)
$(B)/libbalance.a: $(BALANCE_OBJ)
$(B)/libinfer.a: $(INFER_OBJ)
$(B)/libstudy.a: $(STUDY_OBJ)
$(B)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/worker: $(B)/worker.o $(B)/libinfer.a $(B)/libnet.a $(B)/libnn.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
$(BIN)/balancer: $(B)/balancer.o $(B)/libbalance.a $(B)/libnet.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
$(BIN)/client: $(B)/client.o $(B)/libstudy.a $(B)/libnet.a $(B)/libnn.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

$(B)/tests/test_%: $(B)/tests/test_%.o $(B)/tests/check_main.o $(TEST_HELPERS) $(B)/libbalance.a $(B)/libinfer.a $(B)/libstudy.a $(B)/libnet.a $(B)/libnn.a
	$(CC) $(SAN) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS)

# ---- running ---------------------------------------------------------------------------------------------
# The studies into results/<study>/ (about 14 minutes here; `study/run.sh ... --quick` is the smoke run
# that test_client does inside make check).
STUDY_OUT ?= results
study: all deps-study
	study/run.sh $(BIN) $(MODEL) $(SHARED) $(STUDY_OUT)

run: all
	@scripts/run_service.sh $(BIN) $(MODEL) $(PORT) www $(SHARED) $(EXAMPLES)

# The browser test drives Debian's chromium with playwright-core from npm (pinned; found via NODE_PATH).
PLAYWRIGHT     := playwright-core@1.65.1
PLAYWRIGHT_PKG := build/node_modules/playwright-core/package.json
$(PLAYWRIGHT_PKG): | deps-check
	npm install --prefix build --no-save --no-audit --no-fund --loglevel=error $(PLAYWRIGHT)

# Every Check program runs, even after a failure; the last line sums them up.
check: all $(TESTS) deps-check deps-study $(PLAYWRIGHT_PKG)
	@pass=0; fail=0; for t in $(TESTS); do \
	  echo "== $$t"; \
	  if env $(TEST_ENV) $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; \
	echo "check: $$pass passed, $$fail failed"; [ $$fail = 0 ]

# One suite alone while working on it: `make test T=test_http`.
test: all $(B)/tests/$(T) deps-check $(PLAYWRIGHT_PKG)
	env $(TEST_ENV) $(B)/tests/$(T)

# ---- check-aarch64: the engine cross-built for arm64 and its tests under qemu-aarch64 (user mode) ----------
# Debian's cross compiler, arm64 OpenBLAS, stb and Check from multiarch (architecture arm64 is added to dpkg
# as root, else the exact lines to run are printed).  The generic path lowers to NEON there; the avx paths
# say on one line that they cannot run.  A forward pass takes ~2 s under emulation, so the golden tests run
# on three cases (IMGREC_GOLDEN_CASES) beside the whole kernel table; speed is not measured.  The program
# runs on the arm64 libc that multiarch installed (/lib/ld-linux-aarch64.so.1): with QEMU_LD_PREFIX set to
# the cross toolchain's /usr/aarch64-linux-gnu, pthread_create hangs (and with it OpenBLAS and 2 threads).
A64      := build/aarch64
A64_CC   := aarch64-linux-gnu-gcc
A64_PKG   = PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config
A64_RUN  := qemu-aarch64-static
DEBS_A64 := gcc-aarch64-linux-gnu qemu-user-static libc6:arm64 libopenblas-dev:arm64 libstb-dev:arm64 check:arm64
A64_OBJ  := $(NN_SRC:%.c=$(A64)/%.o)
build/.deps-aarch64: Makefile
	@dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64 || \
	  if [ "$$(id -u)" = 0 ]; then echo "dpkg --add-architecture arm64"; dpkg --add-architecture arm64; else \
	    echo "check-aarch64 needs arm64 packages; run:  sudo dpkg --add-architecture arm64 && sudo apt-get update && sudo apt-get install -y $(DEBS_A64)"; exit 1; fi
	$(call need_debs,$(DEBS_A64))
	@mkdir -p build && touch $@
$(addprefix $(A64)/,$(NN_O3)): CFLAGS += -O3
$(A64)/%.o: %.c | build/.deps-aarch64
	@mkdir -p $(dir $@)
	$(A64_CC) $(CFLAGS) $(shell $(A64_PKG) --cflags openblas stb check) -c $< -o $@
$(A64)/tests/test_nn: $(A64)/tests/test_nn.o $(A64)/tests/check_main.o $(A64_OBJ)
	$(A64_CC) -o $@ $^ $(shell $(A64_PKG) --libs check openblas stb) -lm -pthread
check-aarch64: $(A64)/tests/test_nn model
	env $(TEST_ENV) IMGREC_GOLDEN_CASES=test_224,ILSVRC2012_val_00000347,random0 CK_TIMEOUT_MULTIPLIER=10 \
	  timeout 900 $(A64_RUN) $<

# ---- benchmark: nn/ forward pass beside ONNX Runtime (installed into build/ort on first use) ------------
ORT_DIR := build/ort
ORT_PKG := $(ORT_DIR)/node_modules/onnxruntime-node/package.json
$(ORT_PKG):
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "make bench needs node and npm"; exit 1; }
	@mkdir -p $(ORT_DIR)
	cd $(ORT_DIR) && npm init -y >/dev/null && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0
$(B)/tests/bench_nn: $(B)/tests/bench_nn.o $(B)/libnn.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
# ONNX Runtime first (twice; the faster run counts, so noise from other processes favours the peer), then
# the engine on every path this CPU runs (bench_nn says so in one line for the others), each checked
# against golden; the per-layer table (with each layer's kernel) and images/s at batches of 1, 2, 4 and 8
# for the default path; then OpenBLAS with the environment's kernels and, only on a CPU with AVX-512, with
# its SkylakeX ones; last, the whole per-image cost from outside (a worker and `client classify` on
# BENCH_COPIES copies of BENCH_IMAGE).
BENCH_COPIES ?= 200
ORT_RUN = ORT_MODULE=$(abspath $(ORT_DIR))/node_modules/onnxruntime-node \
  node $(SHARED)/peers/bench_ort.js $(SHARED)/peers/mobilenet_v2_1001_f32.onnx 1
BENCH_NN = $(B)/tests/bench_nn --ort-ms $$ms --ort-min-ms $$min
BENCH_SKYLAKEX = env -u OPENBLAS_L2_SIZE $(TEST_ENV) IMGREC_NN_ISA=openblas OPENBLAS_CORETYPE=SkylakeX \
  $(BENCH_NN) --label "openblas path, SkylakeX kernels (unpinned)"
HAS_AVX512 := $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo 1)
bench: all $(B)/tests/bench_nn $(ORT_PKG)
	@ort=$$( { $(ORT_RUN) && $(ORT_RUN); } | sort -t= -k3 -n | head -1); \
	echo "$$ort (faster of two runs)"; \
	ms=$$(echo "$$ort" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'); \
	min=$$(echo "$$ort" | sed -n 's/.*min_ms=\([0-9.]*\).*/\1/p'); \
	[ -n "$$ms" ] && [ -n "$$min" ] || { echo "bench: ONNX Runtime gave no timing"; exit 1; }; \
	env $(TEST_ENV) $(BENCH_NN) --label "default (auto)" && \
	for isa in avx512 avx2 generic; do \
	  env $(TEST_ENV) IMGREC_NN_ISA=$$isa $(BENCH_NN) --label "$$isa path" || exit 1; done && \
	env $(TEST_ENV) $(B)/tests/bench_nn --layers && \
	env $(TEST_ENV) $(B)/tests/bench_nn --batches && \
	env $(TEST_ENV) IMGREC_NN_ISA=openblas $(BENCH_NN) --label "openblas path, kernels pinned by the environment" \
	$(if $(HAS_AVX512),&& $(BENCH_SKYLAKEX)) && \
	scripts/bench_outside.sh $(BIN) $(MODEL) $(BENCH_IMAGE) $(BENCH_COPIES) $$ms

# ---- bench-image: time and peak RSS each decode bomb of tests/image_bombs.c costs the picture path -------
$(B)/tests/bench_image: $(B)/tests/bench_image.o $(B)/tests/image_bombs.o $(B)/libnn.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)
bench-image: $(B)/tests/bench_image
	@$(B)/tests/bench_image

# ---- bench-net: a JPEG via worker alone vs via the balancer; balancer vs nginx `random;` under wrk ----------
BENCH_IMAGE ?= $(SHARED)/eval/seed_test_images/test_224.jpg
bench-net: all deps-bench
	@scripts/bench_net.sh $(BIN) $(MODEL) $(BENCH_IMAGE) results/bench-net

# ---- bench-serve: the whole service (balancer + 2 workers) vs nginx `random` + 2 serve_ort.js, same run ----
# The peer's npm packages go into build/peers (never committed); wrk and nginx come from DEBS_BENCH.
PEER_DIR := build/peers
PEER_PKG := $(PEER_DIR)/node_modules/sharp/package.json
$(PEER_PKG): | deps-bench
	@mkdir -p $(PEER_DIR)
	cd $(PEER_DIR) && npm init -y >/dev/null && \
	  npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 sharp@0.35.5
bench-serve: all deps-bench $(PEER_PKG)
	@scripts/bench_serve.sh $(BIN) $(MODEL) $(BENCH_IMAGE) $(SHARED) $(abspath $(PEER_DIR))/node_modules \
	  results/bench-serve

# ---- fuzzing (clang libFuzzer + ASan/UBSan): every tests/fuzz_<name>.c, corpus in tests/corpus/<name>/ ----
FUZZ_SECONDS ?= 30
FUZZERS := $(patsubst tests/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard tests/fuzz_*.c))
# Each target is built from every source unless FUZZ_SRC_<name> says which it needs (the image path alone
# skips the engine's kernels, whose intrinsics take minutes under ASan).
FUZZ_SRC_image = $(wildcard nn/image/*.c)
FUZZ_SRC = $(or $(FUZZ_SRC_$*),$(NET_SRC) $(NN_SRC))
.SECONDEXPANSION:
build/fuzz/fuzz_%: tests/fuzz_%.c $$(FUZZ_SRC) | build/.deps-build
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. $(PKG_CFLAGS) -o $@ $< $(FUZZ_SRC) $(PKG_LIBS)
# `make fuzz-NAME` runs one target; the image one with a per-allocation limit above the decode budget
# (an allocation over it is a finding), seeds built by bench_image from tests/image_bombs.c, and a
# 10 s per-input timeout (a picture that slow is a finding too).
FUZZ_FLAGS_image = -malloc_limit_mb=64 -rss_limit_mb=1024 -max_len=65536 -timeout=10 -artifact_prefix=build/fuzz/
FUZZ_SEEDS_image = build/fuzz/seeds-image
build/fuzz/seeds-image: $(B)/tests/bench_image
	@mkdir -p $@ && $< --seeds $@
FUZZ_RUNS := $(patsubst build/fuzz/fuzz_%,fuzz-%,$(FUZZERS))
.PHONY: $(FUZZ_RUNS)
fuzz-image: build/fuzz/seeds-image
$(FUZZ_RUNS): fuzz-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus-$*
	$< -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS_$*) build/fuzz/corpus-$* tests/corpus/$* $(FUZZ_SEEDS_$*)
fuzz: $(FUZZ_RUNS)

clean:
	rm -rf build $(PROGS)

-include $(shell find build -name '*.d' 2>/dev/null)
