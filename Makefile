# husk: make demo | make test | make build | make clients | make clients-cgroup2 | make cri-test | make lint | make examples | make test-criu
CARGO ?= cargo
HUSK_RELEASE := target/release/husk

.PHONY: all build release deps demo test unit integration conformance compat lint fmt fuzz bench bench-exe-protection bench-micro clients clients-cgroup2 test-cgroup2 cri-test install clean examples library-consumer test-criu podman-checkpoint

all: build

deps:
	./hack/install-deps.sh

build:
	$(CARGO) build --workspace

# The release binaries are static and not position-independent: glibc and
# libseccomp linked in, so the 3-4 runs of husk each container costs skip the
# dynamic loader and its relocations, and map fewer pages (docs/PERFORMANCE.md
# has what each setting buys). Built for the explicit host triple so that the
# static flags reach only husk, never build scripts or proc macros (which
# cannot be static), then copied to target/release/, where everything looks.
HOST_TRIPLE = $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
SECCOMP_LIBDIR = $(shell dirname "$$($(or $(CC),cc) -print-file-name=libseccomp.a)")
RELEASE_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
STATIC_ENV = RUSTFLAGS="$(RELEASE_RUSTFLAGS)" LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$(SECCOMP_LIBDIR)"
release:
	$(STATIC_ENV) $(CARGO) build --release -p husk --target $(HOST_TRIPLE)
	mkdir -p target/release
	cp -f target/$(HOST_TRIPLE)/release/husk target/$(HOST_TRIPLE)/release/husk-docs target/release/

# A real busybox container through create/start/state/delete.
demo: deps release
	HUSK=$(HUSK_RELEASE) ./hack/demo.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p libcontainer --no-deps

unit:
	$(CARGO) test --workspace --exclude integration

# The conformance suite runs real containers: it needs root.
integration: build
	RUNTIME=$(CURDIR)/target/debug/husk $(CARGO) test -p integration -- --test-threads=2

# The same suite summed up by spec section (docs/CONFORMANCE.md); fetches nothing.
# `make conformance RUNTIME=/usr/sbin/runc` runs it against another runtime.
conformance: build
	RUNTIME=$(or $(RUNTIME),$(CURDIR)/target/debug/husk) CARGO=$(CARGO) ./hack/conformance.sh

# The same commands through husk and runc: what clients parse must match.
compat: build
	./tests/runc-compat.sh target/debug/husk

# libcontainer's examples and its crate-level doctest, running real
# containers (root, busybox-static); they check their output and clean up.
examples: deps
	CARGO=$(CARGO) ./hack/examples.sh

# A cargo project outside the workspace, depending on libcontainer by path,
# builds offline and runs examples/run.rs.
library-consumer: deps
	CARGO=$(CARGO) ./hack/library-consumer.sh

test: deps lint unit integration compat examples library-consumer

# Every cargo-fuzz target for FUZZ_SECONDS each (CI: 60) on the corpus kept in
# fuzz/corpus; stable toolchain (see fuzz/run-all.sh).
FUZZ_SECONDS ?= 60
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked --version 0.13.2 cargo-fuzz
	./fuzz/run-all.sh $(FUZZ_SECONDS)

# husk against runc and crun (and youki if installed) in one run, ratios to
# crun (../shared/bench); BENCH_ARGS go to runtime-bench.sh (e.g. -n 50).
# Timings belong here, not in `make test`. docs/PERFORMANCE.md.
bench: release
	./hack/bench.sh $(HUSK_RELEASE) $(BENCH_ARGS)

# What the CVE-2019-5736 protection (the sealed exec trampoline) costs: the
# release binary against the same build without it (feature
# bench-unprotected-exec, never shipped), lifecycle and `run`, ratios to the
# protected one. BENCH_ARGS as for `make bench` (default -n 50).
UNPROTECTED_DIR := target/bench/unprotected
bench-exe-protection: release
	$(STATIC_ENV) $(CARGO) build --release -p husk --bin husk --target $(HOST_TRIPLE) \
	  --features bench-unprotected-exec --target-dir $(UNPROTECTED_DIR)
	../shared/bench/runtime-bench.sh --ref husk --only a,b $(or $(BENCH_ARGS),-n 50) \
	  --out target/bench/exe-protection.tsv husk=$(HUSK_RELEASE) \
	  husk-unprotected=$(UNPROTECTED_DIR)/$(HOST_TRIPLE)/release/husk | tee target/bench/exe-protection.txt

# criterion benchmarks of the in-process hot path (config, seccomp, mounts).
bench-micro:
	$(CARGO) bench -p libcontainer --bench hot_paths

# podman, containerd, Docker and buildah driving the release binary (../shared/clients).
clients: release
	HUSK_CLIENT_DEPS=1 ./hack/install-deps.sh
	./hack/clients.sh $(HUSK_RELEASE)

# The podman and containerd checks in a throw-away pure cgroup v2 VM
# (../shared/vm/cgroup2-vm.sh: host binaries, this checkout shared at the same
# path; software-emulated: 4-11 min here). Logs: target/clients-cgroup2/;
# RUNTIME_LOG=target/calls.log (inside the checkout) logs every husk call.
CGROUP2_VM ?= ../shared/vm/cgroup2-vm.sh
clients-cgroup2: release
	HUSK_CLIENT_DEPS=1 ./hack/install-deps.sh
	rm -rf target/clients-cgroup2
	$(CGROUP2_VM) --timeout 3600 -e CHECK_BUDGET=900 $(if $(RUNTIME_LOG),-e RUNTIME_LOG=$(abspath $(RUNTIME_LOG))) \
	  'rc=0; ./hack/clients.sh $(HUSK_RELEASE) podman containerd || rc=$$?; mkdir -p target/clients-cgroup2; cp /tmp/husk-clients.*/*.log target/clients-cgroup2/; exit $$rc'

# The cgroup tests (libcontainer cgroups:: unit/root tests, the integration
# files linux_cgroups and ops, the cgroup tests of exec and spec_linux) in the
# pure cgroup v2 VM, then integration/tests/systemd.rs in the VM booted with
# systemd (--systemd-cgroup). 3-5 min here (hack/test-cgroup2.sh).
# `make test-cgroup2 RUNTIME=/usr/sbin/runc` runs the integration part against another runtime.
test-cgroup2: build
	CGROUP2_VM=$(CGROUP2_VM) CARGO=$(CARGO) ./hack/test-cgroup2.sh $(or $(RUNTIME),target/debug/husk)

# critest (kubernetes-sigs/cri-tools) through a private containerd's CRI plugin,
# once with handler runc and once with husk, compared per test (docs/CRITEST.md).
# cri-tools is not built here: CRITEST=/path/to/critest (default: critest in
# PATH); without it the target says so and does nothing. Results: target/critest/.
CRITEST ?= $(shell command -v critest 2>/dev/null)
cri-test: release
	@if [ -z "$(CRITEST)" ] || [ ! -x "$(CRITEST)" ]; then \
	  echo "cri-test: SKIPPED: no critest binary (got '$(CRITEST)'); build it as docs/CRITEST.md says and pass CRITEST=/path/to/critest"; \
	else \
	  CRITEST_OUT=target/critest ./hack/critest.sh $(CRITEST) $(HUSK_RELEASE); \
	fi

# checkpoint/restore (integration/tests/checkpoint.rs) in the pure cgroup v2 VM,
# where Debian's CRIU works (on this host's kernel `criu check` fails on the
# vdso and the tests skip). HUSK_REQUIRE_CRIU=1 turns a skip into a failure.
# 3-6 min here by load (software-emulated VM, 11 tests).
test-criu: build
	HUSK_CLIENT_DEPS=0 ./hack/install-deps.sh
	$(CARGO) test -p integration --test checkpoint --no-run
	$(CGROUP2_VM) --timeout 1800 -e HUSK_REQUIRE_CRIU=1 -e RUNTIME=$(CURDIR)/target/debug/husk \
	  '$$(ls -t target/debug/deps/checkpoint-* | grep -v "\.d$$" | head -1) --test-threads=1'

# podman container checkpoint/restore with --runtime husk, in the same VM.
podman-checkpoint: build
	HUSK_CLIENT_DEPS=1 ./hack/install-deps.sh
	$(CGROUP2_VM) --timeout 1200 './hack/podman-checkpoint.sh target/debug/husk'

PREFIX ?= /usr/local
# The binary, man pages and shell completions (generated from the clap definitions).
install: release
	install -D -m 0755 target/release/husk $(DESTDIR)$(PREFIX)/sbin/husk
	target/release/husk-docs man $(DESTDIR)$(PREFIX)/share/man/man8
	target/release/husk-docs completions target/completions
	install -D -m 0644 target/completions/husk.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/husk
	install -D -m 0644 target/completions/_husk $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_husk
	install -D -m 0644 target/completions/husk.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/husk.fish

clean:
	$(CARGO) clean
