#!/usr/bin/env bash
# Builds the Debian package (build/package/quantlens_<version>_amd64.deb): both programs, the
# .desktop file, the icon and the example model, with dependencies from the binaries (dpkg-shlibdeps).
# It is the CPU build: the CUDA kernels need the CUDA toolkit, which Debian does not ship; build
# from source for them.
#
#   scripts/package.sh            build the .deb
#   scripts/package.sh --check    and install it on a clean Debian 12 made with mmdebstrap (root;
#                                 a few hundred MB from the Debian mirror), then run both programs there
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"

check=0
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package: unknown option '$arg' (expected --check)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh
cmake -S . -B build/package -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DQUANTLENS_ENABLE_CUDA=OFF -DQUANTLENS_BUILD_TESTS=OFF -DQUANTLENS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build/package --target quantlens quantlens-cli
(cd build/package && cpack -G DEB >/dev/null)
deb=$(ls -t build/package/quantlens_*_amd64.deb | head -1)
echo "package: wrote $deb"
dpkg-deb --field "$deb" Package Version Depends Installed-Size
dpkg-deb --contents "$deb" | awk '{print "  " $6}'

[ "$check" -eq 1 ] || exit 0

# A clean Debian 12: the minimal system with apt, nothing of ours. The package must bring what it needs.
if [ "$(id -u)" -ne 0 ]; then
  echo "package: --check needs root (mmdebstrap and chroot)" >&2
  exit 1
fi
command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap
root=$(mktemp -d /tmp/quantlens-debian12.XXXXXX)
trap 'umount "$root/proc" 2>/dev/null || true; rm -rf "$root"' EXIT
mmdebstrap --variant=apt --mode=root bookworm "$root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"
cp "$deb" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
chroot "$root" /bin/bash -euo pipefail -c "
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb") >/dev/null
  echo '--- installed files'
  dpkg -L quantlens | grep -E 'bin/|applications/|icons/|model.safetensors'
  echo '--- quantlens-cli --version'
  quantlens-cli --version
  echo '--- quantlens-cli inspect (the example model)'
  quantlens-cli inspect /usr/share/quantlens/examples/stories260K/model.safetensors --scheme nf4,q4_0 | tail -8
  echo '--- quantlens --help (no display)'
  quantlens --help | head -3
  echo '--- quantlens starts and draws its Inspector (offscreen)'
  mkdir -p -m 700 /tmp/runtime
  QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp/runtime quantlens --screenshot /tmp/shots --workspace inspector \
    /usr/share/quantlens/examples/stories260K/model.safetensors
  test -s /tmp/shots/inspector.png
"
cp "$root/tmp/shots/inspector.png" build/package/debian12-inspector.png
echo "package: $deb installs and runs on a clean Debian 12 (its Inspector: build/package/debian12-inspector.png)"
