# ecs-monitor: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

VENV_SAM := .venv-sam

.PHONY: chromium test test-unit test-aws fmt-check clippy cargo-test e2e bench demo build deploy fmt venv venv-sam lint-template

## test: everything CI checks (formatting, lints, the template, the end-to-end run, all tests).
test: venv fmt-check clippy lint-template e2e cargo-test

## test-unit: the library's and both functions' tests (handlers with the ports' fakes): only cargo.
test-unit:
	$(CARGO) test --locked -p ecs-monitor -p health-check -p diagnose

## test-aws: the tier against the local AWS (moto behind the strict layer, the fault proxy,
## local HTTP/TLS servers, the template as deployed) and the end-to-end demo.
test-aws: venv e2e
	$(CARGO) test --locked -p ecs-monitor-e2e

## venv: the Python tools of the tests (moto) in the project's own .venv, from a pinned list.
venv: $(VENV)/.installed

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

## venv-sam: the SAM CLI in its own venv (installed with awscli it would break it).
venv-sam: $(VENV_SAM)/.installed

$(VENV_SAM)/.installed: tests/requirements-sam.txt
	$(PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-sam.txt
	touch $@

## lint-template: cfn-lint and sam validate --lint on template.yaml (both offline), the
## least-privilege check of its IAM statements and parliament on each function's policy (each
## with a self-test that its rules catch a breach).
lint-template: venv venv-sam
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/python tests/least_privilege.py --self-test
	$(VENV)/bin/python tests/iam_lint.py --self-test
	SAM_CLI_TELEMETRY=0 $(VENV_SAM)/bin/sam validate --lint --region us-east-1 -t template.yaml

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# cargo's last lines are doc-test blocks without tests: end with the plain total.
cargo-test:
	mkdir -p target
	$(CARGO) test --workspace --locked 2>&1 | tee target/cargo-test.log
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' target/cargo-test.log

## e2e: the demo as a test: both functions under cargo lambda watch against moto, invoked with
## the AWS CLI, every step checked (state in S3, the alert in SQS, the diagnose report).
e2e: $(VENV)/.build-tools chromium
	BROWSER_CHECK=$(CHROMIUM) $(VENV)/bin/python tests/demo.py

## chromium: Debian's Chromium and its chromedriver, which render the status page and a
## report page in the end-to-end run (tests/browser_check.py); installed with apt-get (as
## root, else with sudo) when missing.
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x /usr/bin/chromedriver ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

fmt:
	$(CARGO) fmt --all

## build: the Lambda binaries for arm64 (target/lambda/<name>/bootstrap), with cargo-lambda
## and zig from PyPI; the rustup target is added when missing.
build: $(VENV)/.build-tools
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64

$(VENV)/.build-tools: tests/requirements-build.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-build.txt
	touch $@

## deploy: sam build && sam deploy --guided (asks for the parameters the first time).
deploy: $(VENV)/.build-tools venv-sam
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(VENV_SAM)/bin/sam build
	SAM_CLI_TELEMETRY=0 $(VENV_SAM)/bin/sam deploy --guided

## bench: the classifier benchmark in one run: criterion's figure, MB/s per line kind, the
## CLI end to end and its start, and the same corpus through grep and the original rules as a
## Python loop, as ratios (shared/benches/classify.rs).
bench:
	$(CARGO) bench -p ecs-monitor --bench classify

## demo: the whole product offline, against moto on loopback: both functions under cargo lambda
## watch, invoked with the AWS CLI; the state in S3, the alert from SQS, the diagnosis.
demo: $(VENV)/.build-tools
	$(VENV)/bin/python tests/demo.py
