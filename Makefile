# strata — developer entry points. The README names two: `make demo` and `make test`.

CARGO ?= cargo
# Debian packages the tests drive for real: a registry, independent image tools, htpasswd for the
# auth tests, a static busybox for the Docker Engine tests, debootstrap for a real Debian + Python
# base (tests/it/support/debian.rs), buildah to build FROM strata images and chromium to open the
# HTML reports (tests/it/html.rs), qemu-user-static to run arm64 images' Python (tests/it/python_lock.rs),
# tmux to drive `strata explore` (tests/it/explore.rs), rpm (with rpmbuild) for the rpm database
# test (tests/it/optimize.rs) and strace to count the files a check opens (tests/it/diff_check.rs).
TEST_DEBS := docker-registry skopeo umoci apache2-utils busybox-static buildah podman openssl zstd debootstrap chromium qemu-user-static tmux rpm strace

.PHONY: demo test deps lint fmt bench fuzz sample release container-test screenshot

## demo: report on the embedded sample image (an app layer that carries its .venv). The first run
## compiles strata in release mode (no C crypto build, stripped binary: README, "Quick start").
demo:
	$(CARGO) run --release --locked --quiet -- report oci:fixtures/sample-app:latest --base oci:fixtures/sample-app:base

## screenshot: regenerate fixtures/screenshots/report.png, the HTML report of the sample (README).
screenshot:
	$(CARGO) build --quiet
	mkdir -p target/html-test fixtures/screenshots
	target/debug/strata report oci:fixtures/sample-app:latest --base oci:fixtures/sample-app:base \
		--format html --no-progress > target/html-test/sample-report.html
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,2000 \
		--screenshot=fixtures/screenshots/report.png file://$(CURDIR)/target/html-test/sample-report.html

## test: install the Debian tools the tests need (when root), then run every test.
test: deps
	$(CARGO) test --all-targets --locked
	$(CARGO) test --doc --locked

## container-test: build strata's own container/ with Docker and run it (slow: compiles every
## dependency in release mode inside Docker; `make test` skips it, `.ci/run` turns it on).
container-test: deps
	STRATA_CONTAINER_BUILD=1 $(CARGO) test --locked --test it -- --exact container::docker_builds_strata_from_its_container_files

## deps: install missing Debian test tools (root only; elsewhere say what is missing).
deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "missing Debian packages:$$missing (run 'make deps' as root); tests that need them show as ignored"; \
	fi
	@# The Docker Engine runs linux/arm64 builder containers (build --allow-build) through
	@# qemu-user-static's binfmt handler, registered here once per boot as docker buildx needs it.
	@conf=/usr/lib/binfmt.d/qemu-aarch64.conf; misc=/proc/sys/fs/binfmt_misc; \
	if [ "$$(id -u)" = 0 ] && [ -f $$conf ] && [ ! -e $$misc/qemu-aarch64 ]; then \
		{ [ -e $$misc/register ] || mount -t binfmt_misc binfmt_misc $$misc; } && \
		cat $$conf > $$misc/register && echo "registered qemu-aarch64 with binfmt_misc" || \
		echo "could not register qemu-aarch64 with binfmt_misc: arm64 containers will not run"; \
	fi

## lint: formatting and clippy, warnings are errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## release: optimized binary in target/release/strata.
release:
	$(CARGO) build --release --locked

## bench: generate the >= 1 GB benchmark image (cached) and time strata against gzip -dc.
bench: release
	bench/make-big-image.sh $${BENCH_OUT:-/var/tmp/strata-bench/out}
	bench/report-vs-gzip.sh $${BENCH_OUT:-/var/tmp/strata-bench/out} target/release/strata
	bench/report-registry.sh $${BENCH_OUT:-/var/tmp/strata-bench/out} target/release/strata

## fuzz: run every cargo-fuzz target for FUZZ_SECONDS (default 60) each.
fuzz:
	fuzz/run.sh $${FUZZ_SECONDS:-60}

## sample: regenerate fixtures/sample-app (deterministic: same digests every time).
sample:
	python3 fixtures/make-sample.py
