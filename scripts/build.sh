#!/usr/bin/env bash
# Builds switchyard. Usage: scripts/build.sh [Release|Debug|Fuzz|NoRouter]
#   Release -> build/          (what the demo and the benchmark run)
#   Debug   -> build-debug/    (ASan + UBSan; what the tests run)
#   Fuzz    -> build-fuzz/     (clang-14 libFuzzer targets)
#   NoRouter -> build-norouter/ (benchmark only: Release with routing skipped)
set -euo pipefail
cd "$(dirname "$0")/.."
type=${1:-Release}
jobs=$(nproc)
case "$type" in
Release) dir=build; extra=() ;;
Debug) dir=build-debug; extra=() ;;
Fuzz) dir=build-fuzz; extra=(-DSY_FUZZ=ON -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14) ;;
NoRouter) dir=build-norouter; extra=(-DSY_BENCH_NO_ROUTER=ON) ;;
*) echo "usage: $0 [Release|Debug|Fuzz|NoRouter]" >&2; exit 2 ;;
esac
case "$type" in
Fuzz) cmake_type=Debug ;;
NoRouter) cmake_type=Release ;;
*) cmake_type=$type ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$cmake_type" "${extra[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
