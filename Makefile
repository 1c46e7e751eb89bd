# husk: make demo | make test | make build | make clients | make lint
CARGO ?= cargo
HUSK_RELEASE := target/release/husk

.PHONY: all build release deps demo test unit integration compat lint fmt clients clean

all: build

deps:
	./hack/install-deps.sh

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p husk

# A real busybox container through create/start/state/delete.
demo: deps release
	HUSK=$(HUSK_RELEASE) ./hack/demo.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace --exclude integration

# The conformance suite runs real containers: it needs root.
integration: build
	RUNTIME=$(CURDIR)/target/debug/husk $(CARGO) test -p integration -- --test-threads=2

# The same commands through husk and runc: what clients parse must match.
compat: build
	./tests/runc-compat.sh target/debug/husk

test: deps lint unit integration compat

clients: deps release
	@for s in ../shared/clients/podman-check.sh ../shared/clients/containerd-check.sh; do \
	  echo "== $$s"; $$s $(CURDIR)/$(HUSK_RELEASE) | tail -1; done

clean:
	$(CARGO) clean
