# Strata: build, run, debug, grade and test from one entry point.
#
#   make              kernel ELF and bootable GRUB ISO
#   make qemu         boot the ISO, serial console on this terminal
#   make qemu-nox     the same without a window
#   make qemu-gdb     boot halted, waiting for gdb (then: make gdb, or gdb)
#   make grade        grade this branch's labs
#   make check        host unit tests (Check)
#   make test         layers + check + grade + grader self-tests + GDB test + boot tests
#                     (+ lab branches)
#   make test-matrix  the whole boot matrix (memory 4M..5G, 1..16 CPUs, -kernel and ISO)
#   make layers       the include order of src/LAYERS, checked (and the checker's self-test)
#   make compdb       compile_commands.json for clangd
#   make facts        build/strata_facts.py: the headers' facts for Python (tools/facts/)
#   make transcripts  the handouts' GDB walk-throughs, checked against GDB
#   make bench        host benchmarks: figures, targets, verdicts (callgrind)
#   make deps         install the Debian packages (as root, or with sudo)
#   make doctor       check the tools and say what is missing
#
# Variables: MEM=128M CPUS=1 QEMU=qemu-system-i386 QEMUEXTRA=... CMDLINE="test=NAME" LAB=N
# GRADEFLAGS=... (QEMU= is honoured by qemu*, grade and test)

.SECONDEXPANSION:

BUILD   ?= build
MEM     ?= 128M
CPUS    ?= 1
CMDLINE ?=
QEMUEXTRA ?=
PYTHON  ?= python3
QEMU    ?= qemu-system-i386
GDB     ?= gdb

# The lab this branch is for (lab branches carry a LAB file; main grades all).
LAB ?= $(shell cat LAB 2>/dev/null)

V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)
CC      := gcc
LD      := ld
NEED    := sh tools/need

KCFLAGS := -m32 -march=i686 -std=gnu11 -ffreestanding -fno-builtin -fno-pie \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-mno-sse -mno-mmx -mgeneral-regs-only -nostdlib -Og -g \
	-Wall -Wextra -Werror -Isrc -MMD -MP \
	-DSTRATA_LAB=$(if $(LAB),$(LAB),0)
KASFLAGS := -m32 -g -Isrc -MMD -MP -Wa,--noexecstack
KLDFLAGS := -m elf_i386 -nostdlib -T src/kernel/kernel.ld --no-warn-rwx-segments \
	--build-id=sha1

HOSTCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Isrc -DSTRATA_HOST

# Every kernel source that exists in this tree; lab branches simply have fewer.
KSRCS := $(sort $(wildcard src/boot/*.S src/kernel/*.S src/kernel/*.c src/lib/*.c \
	src/mm/*.c labs/*/*.c))
KOBJS := $(patsubst %,$(BUILD)/k/%.o,$(basename $(KSRCS)))

# Stamps whose contents change only when the compiler flags (LAB=N, a lab
# branch checked out in place), the list of kernel sources (a file added or
# deleted) or the ISO's kernel command line change: what depends on them is
# rebuilt exactly then.
define stamp
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(1) 2>/dev/null)" = '[$(2)]' ] || echo '[$(2)]' > $(1); })
endef
ifeq ($(filter clean deps doctor compdb,$(MAKECMDGOALS)),)
$(call stamp,$(BUILD)/flags.stamp,$(KCFLAGS) $(KASFLAGS))
$(call stamp,$(BUILD)/sources.stamp,$(KSRCS))
$(call stamp,$(BUILD)/cmdline.stamp,$(CMDLINE))
endif

.PHONY: all kernel facts iso qemu qemu-nox qemu-gdb gdb grade check test bench deps \
	doctor clean student-repo gradescope need-cc test-check test-grade test-grader-selftest \
	test-gdb test-labgen test-facts layers test-layers compdb test-boot test-matrix test-mutants mutants \
	check-san test-check-san fuzz fuzz-merge test-fuzz
.DELETE_ON_ERROR:

all: kernel iso

# $$(UPROGS): lab 7's user programs' archive, when the tree has them (the
# variable is set in lab 7's region below; second expansion reads it then).
kernel: $(BUILD)/kernel.elf $(BUILD)/strata_facts.py $$(if $$(UPROGS),$(BUILD)/user.ar)
iso: $(BUILD)/strata.iso

$(KOBJS): | need-cc

need-cc:
	@$(NEED) $(CC) gcc
	@$(NEED) $(LD) binutils

$(BUILD)/k/%.o: %.c $(BUILD)/flags.stamp
	@mkdir -p $(@D)
	@echo "  CC    $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/k/%.o: %.S $(BUILD)/flags.stamp
	@mkdir -p $(@D)
	@echo "  AS    $<"
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

# The facts the kernel shares with Python (exit statuses, page bits, the
# layout, the trap frame...), read from the headers by compiling
# tools/facts/facts.c with the kernel's flags: tools/facts/facts.c says how.
facts: $(BUILD)/strata_facts.py
$(BUILD)/strata_facts.py: tools/facts/facts.c tools/facts/mkfacts.py $(BUILD)/flags.stamp | need-cc
	@mkdir -p $(@D)
	$(Q)$(PYTHON) tools/facts/mkfacts.py -o $@ -- $(CC) $(KCFLAGS) -MF $(BUILD)/strata_facts.d \
	  -MT $@ tools/facts/facts.c

# The backtrace symbol table is embedded in the kernel: link once with an
# empty table, list the text symbols of that link, link again with them.
# .ksyms is placed after .text, so text addresses are the same in both links.
$(BUILD)/ksyms0.o: tools/mksyms.sh
	@mkdir -p $(@D)
	$(Q)sh tools/mksyms.sh /dev/null > $(BUILD)/ksyms0.S
	$(Q)$(CC) $(KASFLAGS) -c $(BUILD)/ksyms0.S -o $@

$(BUILD)/kernel.elf: $(KOBJS) $(BUILD)/ksyms0.o src/kernel/kernel.ld tools/mksyms.sh \
		$(BUILD)/sources.stamp
	@echo "  LD    $@"
	$(Q)$(LD) $(KLDFLAGS) -o $(BUILD)/kernel.pass1 $(KOBJS) $(BUILD)/ksyms0.o
	$(Q)nm -n --defined-only $(BUILD)/kernel.pass1 | sh tools/mksyms.sh - > $(BUILD)/ksyms.S
	$(Q)$(CC) $(KASFLAGS) -c $(BUILD)/ksyms.S -o $(BUILD)/ksyms.o
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms.o
	@nm $(BUILD)/kernel.pass1 | grep ' [Tt] ' > $(BUILD)/text1.sym; \
	 nm $@ | grep ' [Tt] ' | cmp -s - $(BUILD)/text1.sym || \
	 { echo "kernel.elf: text moved between the two links"; rm -f $@; exit 1; }

#@ LAB 7 BEGIN
# User programs (lab 7): src/user/NAME.c, each a static ELF32 linked at
# 0x00400000 (USER_BINARY_BASE) with the C library of src/user/lib (and
# the kernel's lib/fmt.c and lib/string.c), each segment on pages of its
# own (text read-only), packed into build/user.ar (the multiboot module;
# src/kernel/initrd.h has the format) with "notelf", a file the loader
# must refuse.
UPROGS := $(patsubst src/user/%.c,%,$(wildcard src/user/*.c))
UCFLAGS := -m32 -march=i686 -std=gnu11 -ffreestanding -fno-builtin -fno-pie \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-mno-sse -mno-mmx -mgeneral-regs-only -nostdlib -O1 -g -Wall -Wextra -Werror \
	-Isrc -MMD -MP
ULIBSRCS := $(wildcard src/user/lib/*.c src/user/lib/*.S) src/lib/fmt.c src/lib/string.c
ULIBOBJS := $(patsubst %,$(BUILD)/u/%.o,$(basename $(ULIBSRCS)))

$(BUILD)/u/%.o: %.c $(BUILD)/flags.stamp
	@mkdir -p $(@D)
	@echo "  UCC   $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(BUILD)/u/%.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CC) $(UCFLAGS) -Wa,--noexecstack -c $< -o $@

$(BUILD)/user/%: $(BUILD)/u/src/user/%.o $(ULIBOBJS)
	@mkdir -p $(@D)
	@echo "  ULD   $@"
	$(Q)$(LD) -m elf_i386 -nostdlib -static -Ttext-segment=0x00400000 -z max-page-size=4096 \
	  -z noexecstack -o $@ $(BUILD)/u/src/user/lib/crt0.o $< $(filter-out %/crt0.o,$(ULIBOBJS))

$(BUILD)/user/notelf:
	@mkdir -p $(@D)
	$(Q)echo "not an ELF executable: the loader must refuse it" > $@

$(BUILD)/user.ar: $(patsubst %,$(BUILD)/user/%,$(UPROGS)) $(BUILD)/user/notelf tools/mkinitrd.py
	@echo "  AR    $@"
	$(Q)$(PYTHON) tools/mkinitrd.py $@ $(filter-out %.py,$^)

-include $(wildcard $(BUILD)/u/*/*.d $(BUILD)/u/*/*/*.d $(BUILD)/u/*/*/*/*.d)
#@ LAB 7 END

# The ISO boots with $(CMDLINE) (make qemu CMDLINE="test=NAME").
$(BUILD)/strata.iso: $(BUILD)/kernel.elf tools/grub.cfg $(BUILD)/cmdline.stamp \
		$$(if $$(UPROGS),$(BUILD)/user.ar)
	@$(NEED) grub-mkrescue grub-common grub-pc-bin
	@$(NEED) xorriso xorriso
	@$(NEED) mformat mtools
	@test -d /usr/lib/grub/i386-pc || { echo "GRUB's i386-pc modules are missing: sudo apt-get install grub-pc-bin"; exit 1; }
	@echo "  ISO   $@"
	$(Q)rm -rf $(BUILD)/isodir
	$(Q)mkdir -p $(BUILD)/isodir/boot/grub
	$(Q)objcopy --strip-debug $(BUILD)/kernel.elf $(BUILD)/isodir/boot/kernel.elf
	$(Q)if [ -f $(BUILD)/user.ar ] && [ -n "$(UPROGS)" ]; then cp $(BUILD)/user.ar $(BUILD)/isodir/boot/user.ar; fi
	$(Q)sed 's|@CMDLINE@|$(subst |,\|,$(subst &,\&,$(subst \,\\,$(CMDLINE))))|' tools/grub.cfg \
	  > $(BUILD)/isodir/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(BUILD)/isodir 2> $(BUILD)/grub-mkrescue.log || \
	 { cat $(BUILD)/grub-mkrescue.log; exit 1; }

# ---- running ---------------------------------------------------------------

# QEMU's command line is built in one place, grader/strata_grader/qemucmd.py
# (the grader and the GDB test use it too); tools/run-qemu runs it and says
# how the kernel ended. RUNQEMU_PRINT=1 prints the command instead.
RUNQEMU = $(PYTHON) tools/run-qemu $(if $(filter 1,$(RUNQEMU_PRINT)),--print) \
	--qemu "$(QEMU)" --facts $(BUILD)/strata_facts.py --memory "$(MEM)" --cpus "$(CPUS)"

qemu: $(BUILD)/strata.iso $(BUILD)/strata_facts.py
	@$(NEED) $(QEMU) qemu-system-x86
	@$(NEED) $(PYTHON) python3
	@$(RUNQEMU) --iso $< --console window -- $(QEMUEXTRA)

qemu-nox: $(BUILD)/strata.iso $(BUILD)/strata_facts.py
	@$(NEED) $(QEMU) qemu-system-x86
	@$(NEED) $(PYTHON) python3
	@$(RUNQEMU) --iso $< --console nographic -- $(QEMUEXTRA)

# Boots the ELF directly (so CMDLINE=test=NAME works), halted until gdb
# connects. The port is per user; a free one is picked if that one is taken.
# tools/gdbport.py reserves it (listens on it and hands the socket to QEMU),
# writes it to $(BUILD)/qemu-gdb.port and adds QEMU's -gdb options.
qemu-gdb: $(BUILD)/kernel.elf $(BUILD)/strata_facts.py $$(if $$(UPROGS),$(BUILD)/user.ar)
	@$(NEED) $(QEMU) qemu-system-x86
	@$(NEED) $(PYTHON) python3
	@$(PYTHON) tools/gdbport.py $(BUILD)/qemu-gdb.port \
	   $(RUNQEMU) --kernel $< $(if $(UPROGS),--initrd $(BUILD)/user.ar) --append "$(CMDLINE)" --console nographic --halted \
	   -- $(QEMUEXTRA)

gdb: $(BUILD)/kernel.elf $(BUILD)/strata_facts.py
	@$(NEED) $(GDB) gdb
	$(GDB) -q -iex "set auto-load safe-path $(CURDIR)" -x .gdbinit

# ---- grading and tests -----------------------------------------------------

# --upto LAB unless GRADEFLAGS picks a lab itself (--lab N).
UPTO = $(if $(LAB),$(if $(filter --lab --lab=%,$(GRADEFLAGS)),,--upto $(LAB)))

grade:
	@$(NEED) $(PYTHON) python3
	@$(PYTHON) grader/grade.py --qemu "$(QEMU)" $(UPTO) $(GRADEFLAGS)

CHECK_LIBS = $$(pkg-config --cflags --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

# Host unit tests: tests/test_NAME.c linked with the sources in TEST_SRCS_NAME.
# The grader builds them from a pristine tests folder into its own folder:
# make TESTS_DIR=/pristine/tests HOSTBUILD=/tmp/x /tmp/x/test_NAME
TESTS_DIR ?= tests
HOSTBUILD ?= $(BUILD)/host
TEST_SRCS_args   := src/lib/args.c
TEST_SRCS_fmt    := src/lib/fmt.c
TEST_SRCS_buddy  := src/mm/buddy.c
TEST_SRCS_elf    := src/kernel/elfcheck.c
TEST_SRCS_malloc := $(filter-out src/mm/malloc_kernel.c,$(wildcard src/mm/malloc*.c)) $(TESTS_DIR)/host_pages.c
#@ LAB 8 BEGIN
TEST_SRCS_mcache := $(TEST_SRCS_malloc)
#@ LAB 8 END
UNIT_TESTS := $(patsubst tests/test_%.c,%,$(wildcard tests/test_*.c))

$(HOSTBUILD)/test_%: $(TESTS_DIR)/test_%.c $$(TEST_SRCS_$$*) $(wildcard src/*/*.h tests/*.h)
	@$(NEED) pkg-config pkg-config
	@pkg-config --exists check || { echo "Check is missing: sudo apt-get install check (or: make deps)"; exit 1; }
	@mkdir -p $(@D)
	@echo "  HOSTCC $@"
	$(Q)$(CC) $(HOSTCFLAGS) -o $@ $< $(TEST_SRCS_$*) $(CHECK_LIBS)

check: $(patsubst %,$(HOSTBUILD)/test_%,$(UNIT_TESTS))
	@set -e; for t in $^; do echo "== $$t"; CK_FORK=yes $$t; done

BENCH_SRCS_buddy  := src/mm/buddy.c
BENCH_SRCS_malloc := $(TEST_SRCS_malloc)
BENCHES := $(patsubst bench/bench_%.c,%,$(wildcard bench/bench_*.c))

$(BUILD)/host/bench_%: bench/bench_%.c $$(BENCH_SRCS_$$*) $(wildcard src/*/*.h tests/*.h)
	@mkdir -p $(@D)
	@echo "  HOSTCC $@"
	$(Q)$(CC) $(HOSTCFLAGS) -O2 -o $@ $< $(BENCH_SRCS_$*)

# bench/bench.py runs each under valgrind's callgrind (instruction counts:
# the verdicts' figure) and on its own (median times of BENCHREPS
# interleaved repeats), and prints every figure with its target and verdict.
BENCHREPS ?= 61
bench: $(patsubst %,$(BUILD)/host/bench_%,$(BENCHES)) kernel
	@$(NEED) valgrind valgrind
	@$(NEED) $(PYTHON) python3
	@$(PYTHON) bench/bench.py $(BUILD) --reps $(BENCHREPS)

# ---- fuzzing and sanitizers ------------------------------------------------

# The host unit tests again, under AddressSanitizer and UBSan (gcc's).
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check-san:
	@$(MAKE) --no-print-directory check HOSTBUILD=$(BUILD)/host-san \
	  HOSTCFLAGS="$(filter-out -O2,$(HOSTCFLAGS)) -O1 $(SANFLAGS)"

# libFuzzer targets (fuzz/fuzz_NAME.c, Debian's clang): built -m32 like the
# kernel, with ASan and UBSan; each reads fuzz/corpus/NAME. fuzz/fuzz_trace.py
# fuzzes the grader's trace parser and matcher (Python, standard library).
#   make fuzz [FUZZTIME=60]   each target for FUZZTIME seconds; new inputs in
#                             build/fuzz/corpus-NAME (make fuzz-merge adds the
#                             ones that cover something new to fuzz/corpus)
#   make test-fuzz            (in make test) a short fixed run of each: the
#                             corpus, then FUZZRUNS inputs from seed 1
FUZZCC    ?= clang
FUZZFLAGS := -m32 -g -O2 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-Wno-incompatible-library-redeclaration -DSTRATA_HOST -Isrc -Ifuzz
FUZZ_SRCS_args      := src/lib/args.c
FUZZ_SRCS_buddy     := src/mm/buddy.c
FUZZ_SRCS_vpalloc   := src/mm/vpalloc.c src/mm/buddy.c
FUZZ_SRCS_malloc    := $(filter-out src/mm/malloc_kernel.c,$(wildcard src/mm/malloc*.c)) tests/host_pages.c
FUZZ_SRCS_multiboot := src/kernel/multiboot.c
FUZZ_SRCS_elf       := src/kernel/elfcheck.c
# Longest input of a target (default 1024; 256 in the fixed runs): an ELF
# seed is a whole (compacted) user program, fuzz/elf_seeds.py.
FUZZ_MAXLEN_elf     := 8192
# NAME:MAXLEN for each target, with $(1) as the default length
fuzz_lens = $(foreach f,$(FUZZERS),$(f):$(or $(FUZZ_MAXLEN_$(f)),$(1)))
FUZZERS   := $(filter $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c)),$(patsubst FUZZ_SRCS_%,%,$(filter FUZZ_SRCS_%,$(.VARIABLES))))
FUZZTIME  ?= 60
FUZZRUNS  ?= 300

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.c fuzz/fuzz.h $$(FUZZ_SRCS_$$*) $(wildcard src/*/*.h tests/*.h)
	@$(NEED) $(FUZZCC) clang
	@mkdir -p $(@D)
	@echo "  FUZZCC $@"
	$(Q)$(FUZZCC) $(FUZZFLAGS) -o $@ $< fuzz/fuzz_common.c $(FUZZ_SRCS_$*) || \
	 { echo "fuzz: clang -m32 -fsanitize=fuzzer needs clang libclang-rt-14-dev lib32stdc++-12-dev (make deps)"; exit 1; }

fuzz: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZERS))
	@set -e; for fl in $(call fuzz_lens,1024); do f=$${fl%%:*}; len=$${fl#*:}; \
	   echo "== fuzz_$$f for $(FUZZTIME) s"; mkdir -p $(BUILD)/fuzz/corpus-$$f; \
	   $(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZTIME) -max_len=$$len -print_final_stats=1 \
	     -artifact_prefix=$(BUILD)/fuzz/$$f- $(BUILD)/fuzz/corpus-$$f fuzz/corpus/$$f; \
	 done
	$(PYTHON) fuzz/fuzz_trace.py --seconds $(FUZZTIME)

fuzz-merge: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do mkdir -p fuzz/corpus/$$f; \
	   $(BUILD)/fuzz/fuzz_$$f -merge=1 fuzz/corpus/$$f $(BUILD)/fuzz/corpus-$$f; done

# Fixed runs: the corpus, then FUZZRUNS inputs from seed 1; the same every time.
# New inputs go to build/, never into the repository's corpus.
test-fuzz: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZERS))
	@set -e; for fl in $(call fuzz_lens,256); do f=$${fl%%:*}; len=$${fl#*:}; \
	   rm -rf $(BUILD)/fuzz/test-new-$$f; mkdir -p $(BUILD)/fuzz/test-new-$$f; \
	   $(BUILD)/fuzz/fuzz_$$f -runs=$(FUZZRUNS) -seed=1 -max_len=$$len \
	     -artifact_prefix=$(BUILD)/fuzz/$$f- $(BUILD)/fuzz/test-new-$$f fuzz/corpus/$$f \
	     > $(BUILD)/fuzz/$$f.log 2>&1 || \
	     { tail -30 $(BUILD)/fuzz/$$f.log; echo "fuzz_$$f: FAILED (log: $(BUILD)/fuzz/$$f.log)"; exit 1; }; \
	   grep -h "^fuzz_$$f:" $(BUILD)/fuzz/$$f.log; \
	 done
	$(PYTHON) fuzz/fuzz_trace.py --seconds 3 --seed 1

# Every step runs even if an earlier one failed (a lab branch's unit tests
# fail until its exercises are done); the summary names the failed ones.
TEST_STEPS := layers check check-san fuzz facts grade grader-selftest gdb boot $(if $(and $(wildcard tools/labgen/validate.py),$(if $(LAB),,1)),labgen) \
	$(if $(and $(wildcard tools/mutants/mutants.py),$(if $(LAB),,1)),mutants)

test:
	@$(NEED) $(PYTHON) python3
	@failed=; for s in $(TEST_STEPS); do \
	   echo "=== make test: $$s"; \
	   $(MAKE) --no-print-directory test-$$s || failed="$$failed $$s"; \
	 done; \
	 if [ -n "$$failed" ]; then echo "=== make test: FAILED:$$failed"; exit 1; fi; \
	 echo "=== make test: all passed ($(TEST_STEPS))"

# The include order (src/LAYERS; HACKING.md): the checker's self-test on
# small trees that break it, then this tree.
layers:
	@$(NEED) $(PYTHON) python3
	@$(PYTHON) tools/test_layercheck.py
	@$(PYTHON) tools/layercheck.py

test-layers: layers
test-check: check
test-check-san: check-san
test-facts: facts
	$(PYTHON) tools/facts/test_facts.py $(BUILD)/strata_facts.py -- $(CC) $(KCFLAGS)
test-grade: kernel iso
	$(PYTHON) grader/grade.py --qemu "$(QEMU)" --no-build $(UPTO)
test-grader-selftest: kernel iso
	$(PYTHON) grader/selftest/run.py
# The boot tests (tests/boot/run.py): too little memory is refused where
# anything can print, and a reduced boot matrix; test-matrix is the whole
# matrix (memory from the smallest supported to 5G, 1 to 16 CPUs, -kernel
# and ISO; a few minutes).
test-boot: kernel iso
	$(PYTHON) tests/boot/run.py
test-matrix: kernel iso
	$(PYTHON) tests/boot/run.py --matrix
test-gdb: kernel
	QEMU="$(QEMU)" GDB="$(GDB)" $(PYTHON) tools/gdb/test_gdb.py
test-labgen:
	$(PYTHON) tools/labgen/validate.py
test-mutants:
	$(PYTHON) tools/mutants/mutants.py --check
	$(PYTHON) tools/mutants/mutants.py --sample --no-baseline

# Every mutant of tools/mutants/labN.mut graded (tools/mutants/README.md).
MUTANTFLAGS ?=
mutants:
	@test -f tools/mutants/mutants.py || { echo "make mutants: this tree has no tools/mutants"; exit 1; }
	$(PYTHON) tools/mutants/mutants.py $(MUTANTFLAGS)

# The handouts' GDB walk-throughs, re-run on each lab's rendered solved
# tree and compared with what GDB prints (a few minutes; not in make test).
transcripts: | need-cc
	@test -f tools/labgen/transcripts.py || { echo "make transcripts: this tree has no tools/labgen; run it in the course's main repository"; exit 1; }
	@$(NEED) $(GDB) gdb
	@$(NEED) $(QEMU) qemu-system-x86
	@$(PYTHON) tools/labgen/transcripts.py $(TRANSCRIPTFLAGS)

# compile_commands.json (git ignores it) for clangd, from the flags above:
# kernel sources with the kernel's flags, host tests and benchmarks with
# the host's. Re-run after adding a file.
compdb:
	@$(NEED) $(PYTHON) python3
	@CC="$(CC)" BUILD="$(BUILD)" KCFLAGS="$(KCFLAGS)" KASFLAGS="$(KASFLAGS)" \
	 HOSTCFLAGS="$(HOSTCFLAGS)" KSRCS="$(KSRCS)" \
	 HOSTSRCS="$(sort $(wildcard tests/*.c bench/*.c))" \
	 $(PYTHON) tools/compdb.py compile_commands.json

# Gradescope autograder packages: build/gradescope-labN.zip for every lab,
# or only lab N with GRADESCOPE_LAB=N (tools/labgen/gradescope.py).
gradescope:
	@test -f tools/labgen/gradescope.py || { echo "make gradescope: this tree has no tools/labgen; make the packages from the course's main repository"; exit 1; }
	$(PYTHON) tools/labgen/gradescope.py --out $(BUILD) $(if $(GRADESCOPE_LAB),--lab $(GRADESCOPE_LAB))

student-repo:
	@test -f tools/labgen/labgen.py || { echo "make student-repo: this tree has no tools/labgen; generate the student branches from the course's main repository"; exit 1; }
	@test -n "$(OUT)" || { echo "usage: make student-repo OUT=DIR"; exit 1; }
	$(PYTHON) tools/labgen/labgen.py --out "$(OUT)"

# ---- setup -----------------------------------------------------------------

DEBS := build-essential gcc-multilib grub-pc-bin grub-common xorriso mtools \
	qemu-system-x86 gdb check pkg-config python3 \
	clang libclang-rt-14-dev lib32stdc++-12-dev valgrind

deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	 $$SUDO apt-get update && \
	 DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $(DEBS)

doctor:
	@sh tools/doctor

clean:
	rm -rf $(BUILD)

-include $(KOBJS:.o=.d) $(BUILD)/strata_facts.d
