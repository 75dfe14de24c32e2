# The two commands of the README, and the benchmark. Each starts (or installs) the
# PostgreSQL and Redis it needs first, and the tests and the benchmark a Kafka broker
# (unless KAFKA_BROKERS names one), stopped when they end: see scripts/services.sh.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Assigned first, so that a failure of the script stops the recipe (eval alone
# would hide its exit status).
SERVICES = services="$$(scripts/services.sh)" && eval "$$services"
# The same, with a private Kafka broker that the trap stops however the recipe ends.
SERVICES_WITH_KAFKA = services="$$(scripts/services.sh kafka)" && eval "$$services" \
	&& trap 'scripts/services.sh stop' EXIT

# The same, plus what only the tests use (DuckDB's Python package).
SERVICES_FOR_TESTS = services="$$(scripts/services.sh test)" && eval "$$services" \
	&& trap 'scripts/services.sh stop' EXIT

.PHONY: run test bench ci services

## Migrate, start the projectors and serve the API on 127.0.0.1:8080.
run:
	@$(SERVICES); \
	export DATABASE_URL="$${DATABASE_URL:-$$DATABASE_SERVER/commerce}"; \
	export JWT_SECRET="$${JWT_SECRET:-$$(scripts/dev-secret.sh)}"; \
	export PERSONAL_DATA_KEY="$${PERSONAL_DATA_KEY:-$$(scripts/dev-secret.sh personal-data-key)}"; \
	echo "mint a token: JWT_SECRET=\$$(cat .local/jwt-secret) cargo run -q -p api --bin commerce -- token --sub <id> --role admin"; \
	cargo run -p api --bin commerce -- serve

## Every test of the workspace, each against a fresh database of its own.
test:
	@$(SERVICES_FOR_TESTS); \
	export DATABASE_URL="$${DATABASE_URL:-$$DATABASE_SERVER/postgres}"; \
	cargo test --workspace

## The event store and the log reader, measured beside raw PostgreSQL.
bench:
	@$(SERVICES_WITH_KAFKA); \
	server="$${DATABASE_SERVER:-$${DATABASE_URL%/*}}"; \
	cargo build --release -p replay-tools -p benches; \
	cargo run --release -p benches --bin commerce-bench -- --server-url "$$server" $(BENCH_ARGS)

## What CI runs.
ci:
	.ci/run

services:
	@$(SERVICES); env | grep -E '^(DATABASE_SERVER|DATABASE_URL|REDIS_URL)=' | sed 's/:[^:@/]*@/:***@/'
