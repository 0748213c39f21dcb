#!/usr/bin/env bash
# `pynference run`'s stages, each alone and end to end (docs/video.md): reading the input, writing
# the output, the GPU's work (H2D, pre, network, post, D2H), and the whole run. Each figure is the
# fps of the run's summary line.
#
#   bash scripts/video-bench.sh BIN MODEL IN_SPEC OUT_EXT [FRAMES] [RUN_OPTIONS...]
#
#   BIN       the pynference binary
#   MODEL     -m argument (a .pt2/.pt file or synthetic:xS[:MS])
#   IN_SPEC   synthetic:WxH:N[:PIXFMT] describing the input to make, e.g. synthetic:960x540:600
#   OUT_EXT   y4m (written to a pipe read by cat) or a container extension (mkv, mp4: FFmpeg builds)
#
# The input is made first (Y4M, or the container OUT_EXT names with ffv1), from the synthetic source.
set -uo pipefail
bin="${1:?usage: video-bench.sh BIN MODEL IN_SPEC OUT_EXT [RUN_OPTIONS...]}"
model="${2:?model}"
spec="${3:?input spec}"
ext="${4:?output extension}"
shift 4
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fps() { grep -o '([0-9.]* fps' | tr -d '( fps'; }

if [[ $ext == y4m ]]; then
  input="$work/in.y4m"
  "$bin" run -i "$spec" -o "$input" -m synthetic:x1 --quiet "$@" || exit 1
  write_alone() { "$bin" run -i "$spec" -o - -m "$model" "$@" 2>&1 >/dev/null | fps; }
  whole() { "$bin" run -i "$input" -o - -m "$model" "$@" 2>&1 >/dev/null | fps; }
else
  input="$work/in.$ext"
  "$bin" run -i "$spec" -o "$input" -m synthetic:x1 --encoder ffv1 --quiet "$@" || exit 1
  write_alone() { "$bin" run -i "$spec" -o "$work/w.$ext" -y -m "$model" "$@" 2>&1 | fps; }
  whole() { "$bin" run -i "$input" -o "$work/o.$ext" -y -m "$model" "$@" 2>&1 | fps; }
fi
read_alone="$("$bin" run -i "$input" -o null -m synthetic:x1 "$@" 2>&1 | fps)"
gpu_alone="$("$bin" run -i "$spec" -o null -m "$model" "$@" 2>&1 | fps)"
written="$(write_alone "$@")"
end_to_end="$(whole "$@")"
slowest="$(printf '%s\n' "$read_alone" "$gpu_alone" "$written" | sort -g | head -n 1)"
printf 'input %s (%s), model %s, output .%s\n' "$spec" "$(basename "$input")" "$model" "$ext"
printf '  read alone     %8s fps   (input -> null, synthetic:x1)\n' "$read_alone"
printf '  GPU alone      %8s fps   (synthetic -> null, the model)\n' "$gpu_alone"
printf '  write alone    %8s fps   (synthetic -> output, the model)\n' "$written"
printf '  end to end     %8s fps   = %s of the slowest stage\n' "$end_to_end" \
  "$(awk -v a="$end_to_end" -v b="$slowest" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
