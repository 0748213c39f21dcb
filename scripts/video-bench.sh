#!/usr/bin/env bash
# `pynference run`'s stages, each alone, and the whole run (docs/video.md): reading (decoding) the
# input, the GPU's work (H2D, pre, network, post, D2H, from synthetic frames to nowhere), writing
# (encoding) the output, and input -> output end to end.
#
#   bash scripts/video-bench.sh BUILD MODEL IN_SIZE OUT_SIZE FRAMES EXT [RUN_OPTIONS...]
#
#   BUILD     the build folder (its src/cli/pynference and bench/pyn_io_bench are used)
#   MODEL     -m argument: a .pt2/.pt file, or synthetic:xS[:MS]
#   IN_SIZE   input WxH (yuv420p); OUT_SIZE the network's output WxH
#   EXT       y4m (the output goes through a pipe to cat, as into an encoder process), or a
#             container extension (mkv: ffv1 input, libx264 output; needs an FFmpeg build)
#   ENCODER=NAME in the environment picks the output's encoder (containers only); REPEAT=N the
#             rounds each figure is the median of (default 3)
set -uo pipefail
build="${1:?usage: video-bench.sh BUILD MODEL IN_SIZE OUT_SIZE FRAMES EXT [RUN_OPTIONS...]}"
model="${2:?model}"
in_size="${3:?input size}"
out_size="${4:?output size}"
frames="${5:?frames}"
ext="${6:?extension}"
shift 6
bin="$build/src/cli/pynference"
io="$build/bench/pyn_io_bench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run_fps() { grep -o '([0-9.]* fps' | tr -d '( fps'; }
io_fps() { grep -o '= [0-9.]* fps' | tr -d '= fps'; }

input="$work/in.$ext"
if [[ $ext == y4m ]]; then
  "$bin" run -i "synthetic:$in_size:$frames" -o "$input" -m synthetic:x1 --quiet "$@" || exit 1
else
  "$bin" run -i "synthetic:$in_size:$frames" -o "$input" -m synthetic:x1 --encoder ffv1 --quiet "$@" || exit 1
fi
one_round() {
  if [[ $ext == y4m ]]; then
    written+=("$({ "$io" write - "$out_size" yuv420p "$frames" | cat >/dev/null; } 2>&1 | io_fps)")
    end_to_end+=("$({ "$bin" run -i "$input" -o - -m "$model" "$@" | cat >/dev/null; } 2>&1 | run_fps)")
  else
    written+=("$("$io" write "$work/w.$ext" "$out_size" yuv420p "$frames" ${ENCODER:-} 2>&1 | io_fps)")
    end_to_end+=("$("$bin" run -i "$input" -o "$work/o.$ext" -m "$model" ${ENCODER:+--encoder "$ENCODER"} "$@" 2>&1 | run_fps)")
  fi
  read_alone+=("$("$io" read "$input" 2>&1 | io_fps)")
  gpu_alone+=("$("$bin" run -i "synthetic:$in_size:$frames" -o null -m "$model" "$@" 2>&1 | run_fps)")
}
# Each figure is the median of REPEAT rounds (default 3); a round measures every stage once, so a
# slow spell of the machine touches all of them alike.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
written=() end_to_end=() read_alone=() gpu_alone=()
for ((round = 0; round < ${REPEAT:-3}; ++round)); do
  one_round "$@"
done
spread="$(printf 'write %s | end to end %s' "${written[*]}" "${end_to_end[*]}")"
written="$(median "${written[@]}")"
end_to_end="$(median "${end_to_end[@]}")"
read_alone="$(median "${read_alone[@]}")"
gpu_alone="$(median "${gpu_alone[@]}")"
slowest="$(printf '%s\n' "$read_alone" "$gpu_alone" "$written" | sort -g | head -n 1)"
printf 'run: %s yuv420p in (%s), %s, %s out (%s), %s frames, median of %s rounds\n' "$in_size" "$ext" "$model" "$out_size" "${ENCODER:-default encoder}" "$frames" "${REPEAT:-3}"
printf '  read alone   %8s fps\n' "$read_alone"
printf '  GPU alone    %8s fps   (synthetic frames -> null)\n' "$gpu_alone"
printf '  write alone  %8s fps\n' "$written"
printf '  end to end   %8s fps   = %s of the slowest stage\n' "$end_to_end" \
  "$(awk -v a="$end_to_end" -v b="$slowest" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')"
printf '  rounds: %s\n' "$spread"
