#!/usr/bin/env bash
# Debian packages the tests need: OCR-B for rendered documents, Chromium for the browser tests,
# faketime for the retention test against a real server, tesseract-ocr for the PassportEye benchmark.
# Installs only what is missing.
set -euo pipefail
packages=(fonts-ocr-b fonts-dejavu-core chromium faketime tesseract-ocr)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
