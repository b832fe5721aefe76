#!/bin/sh
# Installs the Debian packages dynamoe's tests and Fashion-MNIST runs need, when missing:
# dataset-fashion-mnist (the official Fashion-MNIST split), chromium (the headless browser the
# report test drives through playwright-core), python3-torch (the PyTorch export's test) and python3-numpy
# (the tests of own data as .npy, .npz and .safetensors arrays write their files with NumPy; python3-torch
# pulls it in too). Runs as root with apt-get (CI, fresh machines);
# elsewhere it only says what to install. Tests that need a missing package are skipped.
can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }

# Install Debian package $1 (what it is for: $2), once; apt-get update only if the first try fails.
install_pkg() {
  echo "installing $1 ($2) with apt-get" >&2
  (apt-get install -y -q "$1" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$1" >/dev/null 2>&1; }) \
    || echo "could not install $1; $2 tests will be skipped" >&2
}

if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if can_apt; then install_pkg dataset-fashion-mnist "Fashion-MNIST"
  else echo "Fashion-MNIST is missing: sudo apt-get install dataset-fashion-mnist (its tests will be skipped)" >&2; fi
fi
if [ ! -x /usr/bin/chromium ]; then
  if can_apt; then install_pkg chromium "the HTML report's browser"
  else echo "Chromium is missing: sudo apt-get install chromium (the report's browser test will be skipped)" >&2; fi
fi
if ! /usr/bin/python3 -c "import torch" >/dev/null 2>&1; then
  if can_apt; then install_pkg python3-torch "the PyTorch export"
  else echo "PyTorch is missing: sudo apt-get install python3-torch (the PyTorch export tests will be skipped)" >&2; fi
fi
if ! /usr/bin/python3 -c "import numpy" >/dev/null 2>&1; then
  if can_apt; then install_pkg python3-numpy "the NumPy array formats"
  else echo "NumPy is missing: sudo apt-get install python3-numpy (the .npy/.npz/.safetensors data tests will be skipped)" >&2; fi
fi
exit 0
