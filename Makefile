# RT/RW Net backend: the one build file.  See README.md.
#
#   make            release build into build/rel/bin
#   make asan       AddressSanitizer + UBSan build into build/asan/bin
#   make deps       install every Debian package and npm tool the project needs
#   make run        local stack under var/, demo tenant, serve until Ctrl-C
#   make test       throwaway stack under var/test-*, every test, teardown
#   make bench      local stack + wrk benchmark table (var/bench/latest.md
#                   and .json, ratios against tools/bench-baseline.json)
#   make bench-scale  1,000,000 customers in 1,000 tenants (var/scale, built
#                   once): search, list, dashboard, billing jobs
#   make bench-backup  backup and verified restore of 1,000,000 customers
#                   (opt-in: long; var/bench/backup.md)
#   make format     clang-format the C sources in place
#
# Local overrides go in Makefile.local (not committed).

-include Makefile.local

CC	?= cc
PKGS	 = libmariadb libcjson libmemcached libjwt libargon2 libpcre2-8 openssl \
	   xlsxwriter libzstd

# The flags of the project's libraries come from pkg-config, which knows
# them only once the -dev packages are installed.  They are therefore not
# read when make reads this file but kept in build/pkg.mk, which make brings
# up to date before anything else (running tools/deps.sh, which installs
# what is missing) and then restarts with the flags in place: the first
# `make run` on a machine without the packages builds like the second.
# build/pkg.mk is remade when the package list (tools/deps.sh, package.json)
# or the package database changes (something installed or purged) and
# otherwise costs nothing.  `make clean` and `make deps` do not need it.
# (A -include would go on without the flags when the dependency step
# fails; include stops there, with its error.)
PKG_MK	 = build/pkg.mk
NPM_STAMP = node_modules/.package-lock.json
ifneq ($(filter-out clean deps,$(or $(MAKECMDGOALS),all)),)
include $(PKG_MK)
endif

$(PKG_MK): tools/deps.sh package.json $(NPM_STAMP) \
	   $(wildcard /var/lib/dpkg/status)
	@tools/deps.sh
	@mkdir -p $(@D)
	@set -e; \
	cflags=$$(pkg-config --cflags $(PKGS) libpq); \
	libs=$$(pkg-config --libs $(PKGS)); \
	pq=$$(pkg-config --libs libpq); \
	check=$$(pkg-config --libs check); \
	{ echo "# Written by make from pkg-config; see Makefile."; \
	  echo "PKG_CFLAGS := $$cflags"; \
	  echo "PKG_LIBS := $$libs -lfcgi -lcurl"; \
	  echo "PQ_LIBS := $$pq"; \
	  echo "CHECK_LIBS := $$check"; } >$@.tmp
	@mv $@.tmp $@

# node_modules/ (Swagger UI, the OpenAPI linter) comes from the same step;
# removing the folder brings it back at the next make.
$(NPM_STAMP): package.json package-lock.json
	@tools/deps.sh
	@touch $@

WARN	 = -std=c17 -g -Wall -Wextra -Werror -Wformat=2 -Wshadow \
	   -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	   -Wwrite-strings -Wvla -Wimplicit-fallthrough -fno-common
HARDEN	 = -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	   -fstack-clash-protection -fPIE
DEFS	 = -D_GNU_SOURCE -Ilib -I.
LDHARD	 = -pie -Wl,-z,relro,-z,now
SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer

REL_CFLAGS  = $(WARN) -O2 $(HARDEN) $(DEFS) $(PKG_CFLAGS) $(CFLAGS)
ASAN_CFLAGS = $(WARN) -O1 $(SAN) -fPIE $(DEFS) $(PKG_CFLAGS) $(CFLAGS)

LIB_SRCS  := $(sort $(wildcard lib/*.c lib/store/*.c))
FCGI_SRCS := $(sort $(wildcard fcgi/*.c))
JOB_SRCS  := $(sort $(wildcard jobs/*.c))
EVENTS_SRCS := $(sort $(wildcard events/*.c))
WS_LIBS   := $(shell pkg-config --libs libwebsockets 2>/dev/null)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

JOB_NAMES  := $(patsubst jobs/%.c,rtrw-%,$(JOB_SRCS))
TOOL_NAMES := $(patsubst tools/%.c,%,$(TOOL_SRCS))
UNIT_NAMES := $(patsubst tests/unit/%.c,%,$(UNIT_SRCS))

# $(call variant,NAME,CFLAGS,LDFLAGS) builds every program of one flavour.
define variant
$(1)_OBJ  = build/$(1)/obj
$(1)_BIN  = build/$(1)/bin
$(1)_LIBA = build/$(1)/librtrw.a
$(1)_LIB_OBJS  = $$(patsubst %.c,build/$(1)/obj/%.o,$(LIB_SRCS))
$(1)_FCGI_OBJS = $$(patsubst %.c,build/$(1)/obj/%.o,$(FCGI_SRCS))
$(1)_EVENTS_OBJS = $$(patsubst %.c,build/$(1)/obj/%.o,$(EVENTS_SRCS))
$(1)_PROGS = build/$(1)/bin/rtrw-api build/$(1)/bin/rtrw-events \
	build/$(1)/bin/stream_probe \
	$$(addprefix build/$(1)/bin/,$(JOB_NAMES) $(TOOL_NAMES))

build/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $(2) -MMD -MP -c $$< -o $$@

$$($(1)_LIBA): $$($(1)_LIB_OBJS)
	@rm -f $$@
	ar rcs $$@ $$^

build/$(1)/bin/rtrw-api: $$($(1)_FCGI_OBJS) $$($(1)_LIBA)
	@mkdir -p $$(@D)
	$$(CC) $(2) $(3) -o $$@ $$^ $$(PKG_LIBS)

# rtrw-api's worker with the test routes of tests/e2e/stream_probe.c, for
# tests/e2e/test_stream.py; never installed.
build/$(1)/bin/stream_probe: build/$(1)/obj/fcgi/main.o \
		build/$(1)/obj/fcgi/schema.o \
		build/$(1)/obj/tests/e2e/stream_probe.o $$($(1)_LIBA)
	@mkdir -p $$(@D)
	$$(CC) $(2) $(3) -o $$@ $$^ $$(PKG_LIBS)

# The WebSocket daemon: a thin events/main.c, the logic in lib/wsd.c.
build/$(1)/bin/rtrw-events: $$($(1)_EVENTS_OBJS) $$($(1)_LIBA)
	@mkdir -p $$(@D)
	$$(CC) $(2) $(3) -o $$@ $$^ $$(PKG_LIBS) $$(WS_LIBS)

build/$(1)/bin/rtrw-%: build/$(1)/obj/jobs/%.o $$($(1)_LIBA)
	@mkdir -p $$(@D)
	$$(CC) $(2) $(3) -o $$@ $$^ $$(PKG_LIBS) $$(PQ_LIBS)

build/$(1)/bin/%: build/$(1)/obj/tools/%.o $$($(1)_LIBA)
	@mkdir -p $$(@D)
	$$(CC) $(2) $(3) -o $$@ $$^ $$(PKG_LIBS) $$(PQ_LIBS) $$(WS_LIBS)

build/$(1)/bin/test_%: build/$(1)/obj/tests/unit/test_%.o $$($(1)_LIBA)
	@mkdir -p $$(@D)
	$$(CC) $(2) $(3) -o $$@ $$^ $$(PKG_LIBS) $$(PQ_LIBS) $$(CHECK_LIBS) \
		$$(WS_LIBS)

-include $$(shell find build/$(1)/obj -name '*.d' 2>/dev/null)
endef

$(eval $(call variant,rel,$(REL_CFLAGS),$(LDHARD) $(LDFLAGS)))
$(eval $(call variant,asan,$(ASAN_CFLAGS),-pie $(SAN) $(LDFLAGS)))

.PHONY: all release asan deps run test unit bench bench-scale bench-backup \
	format format-check clean e2e fuzz
.DEFAULT_GOAL := all
# Objects reached only through pattern rules (jobs/, tools/) would count as
# intermediate and be deleted after each build, or on an interrupted one,
# and then be compiled again by the next make run.
.SECONDARY:

all: release
release: $(rel_PROGS)
asan: $(asan_PROGS) $(addprefix build/asan/bin/,$(UNIT_NAMES))

# deps installs what is missing, whatever the state of build/pkg.mk;
# deps-check only brings build/pkg.mk up to date, as every build goal does.
deps:
	@tools/deps.sh
deps-check: $(PKG_MK)

# libFuzzer drivers for the parsers of untrusted bytes (tests/fuzz/),
# built with clang; tools/test.sh runs each for a few seconds.
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_PROGS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS = -std=c17 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
	      $(DEFS) $(PKG_CFLAGS)
FUZZ_OBJS  := $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRCS))
build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/librtrw.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/librtrw.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(PQ_LIBS) \
		$(WS_LIBS)
-include $(shell find build/fuzz/obj -name '*.d' 2>/dev/null)
fuzz: $(FUZZ_PROGS)

# Unit tests: every Check program, sanitizers on, leaks fatal.
unit: asan
	@tools/unit.sh $(addprefix build/asan/bin/,$(UNIT_NAMES))

run: release
	@tools/run.sh

test: asan fuzz
	@tools/test.sh

bench: release
	@tools/bench.sh

bench-scale: release
	@tools/bench-scale.sh

bench-backup: release
	@tools/bench_backup.sh

format:
	clang-format -i $(LIB_SRCS) $(FCGI_SRCS) $(JOB_SRCS) $(TOOL_SRCS) \
		$(EVENTS_SRCS) \
		$(UNIT_SRCS) $(wildcard tests/fuzz/*.c tests/e2e/*.c) \
		$(wildcard lib/*.h lib/store/*.h fcgi/*.h tools/export_sample.h)

format-check:
	@clang-format --dry-run --Werror $(LIB_SRCS) $(FCGI_SRCS) \
		$(JOB_SRCS) $(TOOL_SRCS) $(EVENTS_SRCS) $(UNIT_SRCS) \
		$(wildcard tests/fuzz/*.c tests/e2e/*.c) \
		$(wildcard lib/*.h lib/store/*.h fcgi/*.h tools/export_sample.h)

clean:
	rm -rf build
