# netdwg: `make demo` runs the main job, `make test` runs every test.
# Both install what they need (Debian 12 packages, a venv in .venv) on first use.
SHELL := /bin/bash
PY_SYSTEM ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := wireguard-go wireguard-tools dnsmasq-base iperf3 nftables iptables iputils-ping \
	libsystemd-dev pkg-config netplan.io python3-venv python3-dev gcc dbus-daemon systemd traceroute
PYTEST_ARGS ?=

.PHONY: deps venv test test-unit demo bench clean deb arch deb-test

deps: .deps-stamp
.deps-stamp:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "[#] apt-get install$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml .deps-stamp
	$(PY_SYSTEM) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dbus,systemd,test]'
	@touch $@

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit tests/property $(PYTEST_ARGS)

demo: venv
	$(VENV)/bin/netdwg lab demo examples/harbor.conf

bench: venv
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .deps-stamp build dist *.egg-info .pytest_cache
