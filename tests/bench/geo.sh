#!/bin/sh
# tests/bench/geo.sh - builds geoalert (Release, no sanitizers) and runs the
# geo benchmark: transform and region-lookup rates for N points on one core.
#
#   tests/bench/geo.sh [N]        (default 1000000)
#
# BUILD_DIR overrides the build directory (default build-bench).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$here/build-bench}
n=${1:-1000000}

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGA_SANITIZE=OFF >/dev/null
cmake --build "$build" -j2 --target ga_bench_geo >/dev/null
bench=$(find "$build" -name ga_bench_geo -type f -perm -u+x | head -n 1)
echo "machine: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "PROJ: $(pkg-config --modversion proj)"
# One core: pin when taskset is there.
if command -v taskset >/dev/null 2>&1; then
	exec taskset -c 0 "$bench" "$n"
fi
exec "$bench" "$n"
