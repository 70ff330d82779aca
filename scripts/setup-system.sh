#!/usr/bin/env bash
# Installs, idempotently and quietly, the Debian 12 packages alexnet-wgsl needs: the Vulkan loader
# and Mesa's software Vulkan driver (lavapipe) from bookworm-backports (bookworm's own 22.3 is too
# old for Dawn), Debian's Fashion-MNIST, and — with --test — PyTorch (a reference in the tests) and
# Chromium (the browser tests drive it; with --enable-unsafe-webgpu it has a SwiftShader adapter).
# Run as root. Skips everything that is already there.
set -euo pipefail
want_test=0
[ "${1:-}" = "--test" ] && want_test=1
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
mesa_ok() {
  have mesa-vulkan-drivers || return 1
  local v; v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
  dpkg --compare-versions "$v" ge 25
}

pkgs=()
have libvulkan1 || pkgs+=(libvulkan1)
have dataset-fashion-mnist || pkgs+=(dataset-fashion-mnist)
command -v node >/dev/null || pkgs+=(nodejs npm)
if [ $want_test = 1 ]; then
  have python3-torch || pkgs+=(python3-torch)
  have python3-torchvision || pkgs+=(python3-torchvision)
  have python3-numpy || pkgs+=(python3-numpy)
  have chromium || pkgs+=(chromium)
  have fonts-dejavu-core || pkgs+=(fonts-dejavu-core)
fi

if [ ${#pkgs[@]} -gt 0 ] || ! mesa_ok; then
  src=/etc/apt/sources.list.d/backports.sources
  if [ ! -f "$src" ] && ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      awk 'BEGIN{RS="";ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources \
        | sed 's/^Suites:.*/Suites: bookworm-backports/' | $sudo tee "$src" >/dev/null
    else
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $sudo tee /etc/apt/sources.list.d/backports.list >/dev/null
    fi
  fi
  $sudo apt-get update -qq
  [ ${#pkgs[@]} -gt 0 ] && $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  mesa_ok || $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
echo "system packages ready: lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), fashion-mnist in /usr/share/datasets/fashion-mnist"
