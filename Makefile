# nndl - build, test and run.  See README.md.
#
#   make            build build/nndl, build/libnndl.a and build/examples/
#   make run        fetch MNIST if needed and train the chapter-1 network
#   make test       build and run the test suite
#   make sanitize   the test suite built with AddressSanitizer and UBSan
#   make install PREFIX=/usr/local

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
WERROR  ?= -Werror
OPT     ?= -O3 -march=native
SANITIZE ?=
DEFINES ?=

PKGS    := zlib libcurl libcrypto libcjson libpng libjpeg libmicrohttpd
DEPS_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lz -lcurl -lcrypto -lcjson -lpng -ljpeg -lmicrohttpd)

CFLAGS  ?=
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes $(WERROR) $(OPT) -g \
           -fopenmp -pthread -Iinclude -Isrc $(DEPS_CFLAGS) $(DEFINES) $(SANITIZE)
# libsvm (the SVM baseline) ships no pkg-config file in Debian.
LDLIBS  += $(DEPS_LIBS) -lsvm -lm
# What a program that trains and runs networks links: no libcurl, OpenSSL
# or libsvm, which only downloading MNIST and the SVM baseline need. The
# examples link with this alone, so every build checks it.
CORE_LIBS := $(shell pkg-config --libs zlib libcjson libpng libjpeg 2>/dev/null || echo -lz -lcjson -lpng -ljpeg) -lm
LDFLAGS += -fopenmp -pthread $(SANITIZE)

# The numeric core is compiled twice: in float for training and inference,
# and in double for the gradient check (see src/net/real.h).
REAL_SRC := src/kernels/matmul.c src/net/activation.c src/net/cost.c \
            src/net/dense.c src/net/conv.c src/net/pool.c src/net/layer.c \
            src/net/sparse_input.c src/net/backprop.c src/train/regularization.c
LIB_SRC  := $(filter-out $(REAL_SRC), $(wildcard src/*/*.c))
CLI_SRC  := $(wildcard cli/*.c)
# nndl serve (cli/serve/): the server, and the page of web/ built in.
SERVE_SRC := $(wildcard cli/serve/*.c)
SERVE_OBJ := $(SERVE_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/cli/serve/assets_S.o
WEB_FILES := $(wildcard web/*)
TEST_SRC := $(wildcard tests/*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) \
            $(REAL_SRC:%.c=$(BUILD)/obj/f32/%.o) \
            $(REAL_SRC:%.c=$(BUILD)/obj/f64/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

LIB  := $(BUILD)/libnndl.a
CLI  := $(BUILD)/nndl
TESTS := $(BUILD)/nndl-tests
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

# Sub-makes build in parallel, one job per core, unless make was given -j.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PARALLEL := $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS))

.PHONY: all tool deps data run test sanitize tsan install clean
all: deps
	@$(MAKE) --no-print-directory $(PARALLEL) $(CLI) $(LIB) $(EXAMPLES) $(TESTS)

# The command alone: what `make run` and `make install` need.
tool: deps
	@$(MAKE) --no-print-directory $(PARALLEL) $(CLI) $(LIB)

# Installs missing Debian packages (compiler, -dev libraries) when possible.
deps:
	@scripts/ensure-deps.sh

# Finds MNIST ($$NNDL_DATA/mnist or ./data/mnist) or downloads it.
data: tool
	@$(CLI) data

run: data
	$(CLI) train --sizes 784,30,10 --epochs 30 --batch 10 --eta 3.0 --init large

# The C suite, then nndl serve's page in headless Chromium (tests/run.sh).
test: all
	@$(CLI) data
	@tests/run.sh $(TESTS)

sanitize: deps
	@$(MAKE) --no-print-directory $(PARALLEL) BUILD=build-sanitize OPT="-O1" \
	    SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build-sanitize/nndl build-sanitize/nndl-tests
	@$(CLI) data >/dev/null 2>&1 || build-sanitize/nndl data
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	    build-sanitize/nndl-tests

# make tsan: the tests that run threads (the pool, the kernels on 2 threads,
# 2-thread training, nndl serve) built with ThreadSanitizer; any report
# fails it. Tests of OpenMP code are left out: TSan cannot see inside
# libgomp and reports its synchronisation as races.
TSAN_TESTS := parallel_ kernels_are_bit_identical kernels_sparse_products_are_bit_identical \
              kernels_fused_pass \
              training_is_bit_identical training_with_threads_chosen thread_choice serve_
tsan: deps
	@$(MAKE) --no-print-directory $(PARALLEL) BUILD=build-tsan OPT="-O1" SANITIZE="-fsanitize=thread" \
	    build-tsan/nndl build-tsan/nndl-tests
	@$(CLI) data >/dev/null 2>&1 || build-tsan/nndl data
	TSAN_OPTIONS=halt_on_error=1 build-tsan/nndl-tests $(TSAN_TESTS)

# The hand-vectorized kernels get their instruction sets file by file; the
# dispatcher calls them only on CPUs that have them (src/kernels/matmul_kernels.h).
ifneq ($(filter x86_64 i%86,$(firstword $(subst -, ,$(shell $(CC) -dumpmachine)))),)
$(BUILD)/obj/src/kernels/matmul_avx512.o: CFLAGS += -mavx512f -mfma
$(BUILD)/obj/src/kernels/matmul_avx2.o: CFLAGS += -mavx2 -mfma
endif

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# nndl plot -o FILE.png rasterizes its SVG with librsvg (and cairo): only
# cli/plot_png.c sees their headers, only the command links them.
RSVG_CFLAGS := $(shell pkg-config --cflags librsvg-2.0 2>/dev/null)
RSVG_LIBS   := $(shell pkg-config --libs librsvg-2.0 2>/dev/null || echo -lrsvg-2 -lgobject-2.0 -lglib-2.0 -lcairo)
$(BUILD)/obj/cli/plot_png.o: CFLAGS += $(RSVG_CFLAGS)

$(CLI): $(CLI_OBJ) $(SERVE_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(SERVE_OBJ) $(LIB) $(LDLIBS) $(RSVG_LIBS)

# The tests run the examples too (tests/test_examples.c), and test the
# server's objects directly (tests/test_serve.c).
$(TESTS): $(TEST_OBJ) $(SERVE_OBJ) $(LIB) $(CLI) $(EXAMPLES)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(SERVE_OBJ) $(LIB) $(LDLIBS)

# The page's files go into the binary with .incbin (cli/serve/assets.S).
$(BUILD)/obj/cli/serve/assets_S.o: cli/serve/assets.S $(WEB_FILES)
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<

# Each example is one file that sees only the public header, as a program
# using the library would: no -Isrc.
$(BUILD)/examples/%: examples/%.c include/nndl.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(LIB) $(CORE_LIBS)

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icli -DNNDL_CLI_PATH='"$(abspath $(CLI))"' -MMD -MP -c -o $@ $<

$(BUILD)/obj/f32/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/f64/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DNNDL_REAL_DOUBLE -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

install: tool
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/nndl
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libnndl.a
	install -m 644 include/nndl.h $(DESTDIR)$(PREFIX)/include/nndl.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/^#define NNDL_VERSION "\(.*\)"/\1/p' include/nndl.h)|' \
	    nndl.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nndl.pc

clean:
	rm -rf build build-sanitize

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# make bench: nndl against peers written in bench/ (numpy, PyTorch, the
# book's per-example algorithm, sgemm), same machine, same run, same thread
# count; prints the tables and writes docs/PERFORMANCE.md (under 10 minutes).
.PHONY: bench bench-deps
# Builds only what it runs (build/nndl, build/libnndl.a), not the tests.
bench: deps bench-deps
	@$(MAKE) --no-print-directory $(CLI) $(LIB) $(BUILD)/bench/infer $(BUILD)/bench/core_latency \
		$(BUILD)/bench/kernels
	/usr/bin/python3 bench/run.py

# make bench-placement: 2 threads against 1 at mini-batch 100, sorted by
# whether the host ran the two cores with a shared cache; writes
# docs/PLACEMENT.md (30 rounds, about 6 minutes).
.PHONY: bench-placement
bench-placement: deps
	@$(MAKE) --no-print-directory $(CLI) $(BUILD)/bench/core_latency
	/usr/bin/python3 bench/placement.py

# Installs the peers' Debian packages (numpy, PyTorch, threadpoolctl,
# OpenBLAS) when missing.
bench-deps:
	@bench/ensure-deps.sh

$(BUILD)/bench/infer: bench/infer.c bench/timing.h include/nndl.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isrc,$(CFLAGS)) $(LDFLAGS) -o $@ $< $(LIB) $(CORE_LIBS)

# nndl's products against OpenBLAS and libxsmm (Debian's libopenblas-dev and
# libxsmm-dev, which bench-deps installs): it reads the internal kernels.
$(BUILD)/bench/kernels: bench/kernels.c bench/timing.h src/kernels/matmul.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $$(pkg-config --cflags openblas libxsmm) $(LDFLAGS) -o $@ $< $(LIB) \
		$(LDLIBS) $$(pkg-config --libs libxsmm openblas)

$(BUILD)/bench/core_latency: bench/core_latency.c bench/timing.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# make valgrind: short runs of the tool under valgrind's memcheck
# (scripts/valgrind.sh), built without -march=native.
.PHONY: valgrind
valgrind: data
	@scripts/ensure-deps.sh valgrind curl
	@$(MAKE) --no-print-directory BUILD=build-valgrind OPT="-O2" build-valgrind/nndl
	@scripts/valgrind.sh

# make fuzz: libFuzzer targets (fuzz/) built with clang, AddressSanitizer and
# UBSan, each run for FUZZ_SECONDS on a copy of its seed corpus
# (fuzz/corpus/NAME), with memory limits; crashes, leaks and inputs that
# blow the limits are written to build-fuzz/crash-NAME-*. fuzz/run.sh
# prints the executions per target.
.PHONY: fuzz fuzz-build
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := idx model json_model image http multipart checkpoint idx_folder
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
fuzz-build: deps
	@scripts/ensure-deps.sh clang libomp-dev
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -Wno-pass-failed" \
	    SANITIZE="$(FUZZ_FLAGS)" \
	    DEFINES="-DNNDL_MAX_PICTURE_PIXELS='(1u << 22)'" \
	    build-fuzz/libnndl.a $(foreach t,$(FUZZ_TARGETS),build-fuzz/fuzz/fuzz_$(t))

fuzz: fuzz-build
	@fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The targets that go through the command line (checkpoint, idx_folder)
# call cmd_* functions: every object of the tool but its main().
FUZZ_CLI_OBJ := $(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJ))
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_file.h $(FUZZ_CLI_OBJ) $(SERVE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icli -fsanitize=fuzzer -o $@ $< $(FUZZ_CLI_OBJ) $(SERVE_OBJ) $(LIB) \
	    $(LDFLAGS) $(LDLIBS) $(RSVG_LIBS)
