#!/bin/sh
# Installs the Debian packages dynamoe's tests and Fashion-MNIST runs need, when missing.
# Runs as root with apt-get (CI, fresh machines); elsewhere it only says what to install.
if [ -d /usr/share/datasets/fashion-mnist ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing dataset-fashion-mnist (Fashion-MNIST, official split) with apt-get" >&2
  (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; }) \
    || echo "could not install dataset-fashion-mnist; Fashion-MNIST tests will be skipped" >&2
else
  echo "Fashion-MNIST is missing: sudo apt-get install dataset-fashion-mnist (its tests will be skipped)" >&2
fi
exit 0
