# netdwg: `make demo` runs the main job, `make test` runs every test.
# Both install what they need (Debian 12 packages, a venv in .venv) on first use.
SHELL := /bin/bash
PY_SYSTEM ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := wireguard-go wireguard-tools dnsmasq-base iperf3 nftables iptables iputils-ping \
	libsystemd-dev pkg-config netplan.io python3-venv python3-dev gcc dbus-daemon systemd traceroute \
	openssh-server debootstrap network-manager prometheus graphviz
PYTEST_ARGS ?=

.PHONY: deps venv test test-unit demo demo-nm bench clean deb arch deb-test

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
	$(VENV)/bin/netdwg lab demo examples/1-offices.conf

# The same story with a laptop on NetworkManager (README: the lab; what is real there).
demo-nm: venv
	$(VENV)/bin/netdwg lab demo examples/6-nm-laptop.conf

bench: venv
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .deps-stamp build dist *.egg-info .pytest_cache

# --- packaging (debian/, packaging/arch/; see tests/packaging/) ---
# Both packages build from a clean export of a commit (PKG_REF, default HEAD):
# a consistent snapshot even while files are being edited, and build products
# never land in the source tree. Commit first, or: make deb PKG_REF=<commit>.
PKG_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' netdwg/__init__.py)
SYS_PATH := /usr/sbin:/usr/bin:/sbin:/bin
PKG_APT_PACKAGES := debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools \
	python3-docutils lintian fakeroot debootstrap makepkg pacman-package-manager libarchive-tools zstd
build/.pkg-deps-stamp:
	@missing=""; for p in $(PKG_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "[#] apt-get install$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@mkdir -p build && touch $@
PKG_REF ?= HEAD

# Debian 12 package: build/deb/netdwg_$(PKG_VERSION)_all.deb, then lintian.
# The system Python must come first on PATH (pyenv shims break pybuild).
deb: build/.pkg-deps-stamp
	rm -rf build/deb && mkdir -p build/deb/netdwg-$(PKG_VERSION)
	git archive --format=tar $(PKG_REF) | tar -xf - -C build/deb/netdwg-$(PKG_VERSION)
	cd build/deb/netdwg-$(PKG_VERSION) && env PATH=$(SYS_PATH) dpkg-buildpackage -us -uc -b
	env PATH=$(SYS_PATH) lintian --info --display-info build/deb/netdwg_$(PKG_VERSION)_*.changes

# Arch package with Debian's makepkg: build/arch/netdwg-$(PKG_VERSION)-1-any.pkg.tar.* (Debian's
# makepkg.conf compresses with gzip; Arch's with zstd).
# makepkg refuses root, so a throwaway user builds; -d skips the dependency
# check (Arch packages are not installable on Debian) and --nocheck the
# PKGBUILD's check(), whose Arch python-* dependencies are not here either.
arch: build/.pkg-deps-stamp
	rm -rf build/arch && mkdir -p build/arch
	git archive --format=tar.gz --prefix=netdwg-$(PKG_VERSION)/ -o build/arch/netdwg-$(PKG_VERSION).tar.gz $(PKG_REF)
	git show $(PKG_REF):packaging/arch/PKGBUILD > build/arch/PKGBUILD
	id -u netdwg-build >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin netdwg-build
	chown -R netdwg-build build/arch
	# Arch calls the interpreter "python"; Debian only has python3 (without python-is-python3).
	mkdir -p build/arch/bin && ln -sf /usr/bin/python3 build/arch/bin/python
	cd build/arch && runuser -u netdwg-build -- env PATH=$$PWD/bin:$(SYS_PATH) HOME=$$PWD makepkg -d -f --nocheck --skipinteg --noconfirm
	@command -v namcap >/dev/null && namcap build/arch/*.pkg.tar.* || echo "namcap: not packaged for Debian 12, skipped"

# Build the .deb and install it into a fresh debootstrap'd Debian 12 root,
# then run netdwg there with Debian's libraries (a few minutes; see README).
deb-test: venv
	NETDWG_DEB_TEST=1 $(PY) -m pytest -v tests/packaging $(PYTEST_ARGS)
