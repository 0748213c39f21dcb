#!/usr/bin/env bash
# Builds and runs the tests: release (all tests; the gpu ones skip themselves without a device),
# then the host tests under ASan/UBSan and under TSan. Stops at the first failure.
# Ends with one line `tests: N passed, M failed, K skipped` summed over the runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

presets=(release asan tsan)

jobs="$(nproc)"
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
export CTEST_PARALLEL_LEVEL="$jobs"

if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

# LibTorch from scripts/install-deps.sh, for the optional torch engine. `cmake --workflow` takes no
# -D options, so it goes in through the environment, which find_package() also searches.
if [[ -x .venv/bin/python ]] &&
  torch_prefix="$(.venv/bin/python -W ignore -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null)"; then
  export CMAKE_PREFIX_PATH="$torch_prefix${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  echo "test.sh: LibTorch at $torch_prefix"
fi

passed=0
failed=0
skipped=0

summary() { echo "tests: $passed passed, $failed failed, $skipped skipped"; }

# Adds one ctest run's counts, read from its closing lines:
#   "95% tests passed, 1 tests failed out of 20" and "  7 - Name (Skipped)" under "did not run".
count() {
  local log="$1" line total fails skips
  line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)" ||
    return 0
  fails="$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")"
  total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
  skips="$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log")" || true
  passed=$((passed + total - fails - skips))
  failed=$((failed + fails))
  skipped=$((skipped + skips))
}

for preset in "${presets[@]}"; do
  log="build/$preset/workflow.log"
  mkdir -p "build/$preset"
  echo "test.sh: cmake --workflow --preset $preset (log: $log)"
  rc=0
  cmake --workflow --preset "$preset" 2>&1 | tee "$log" || rc=$?
  count "$log"
  if ((rc != 0)); then
    echo "test.sh: preset '$preset' failed (exit $rc); see $log" >&2
    summary
    exit "$rc"
  fi
done

summary
