#!/usr/bin/env bash
# Rebuild the shipped zoo: one committed command per entry, as the README says.
# Usage: scripts/train_zoo.sh [config ...]   (default: every configs/*.json)
# Two single-thread queues run side by side: on 2 cores this trains more images per second
# than one queue with two threads.
set -euo pipefail
cd "$(dirname "$0")/.."
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(configs/*.json)
mkdir -p .zoo-logs
run_queue() {
  for c in "$@"; do
    name=$(basename "$c" .json)
    python -m latentlab train --config "$c" --out checkpoints --overwrite --threads 1 > ".zoo-logs/$name.log" 2>&1 \
      && tail -n 1 ".zoo-logs/$name.log" || echo "FAILED: $c (see .zoo-logs/$name.log)"
  done
}
even=(); odd=()
for i in "${!configs[@]}"; do
  if (( i % 2 )); then odd+=("${configs[$i]}"); else even+=("${configs[$i]}"); fi
done
run_queue "${even[@]}" &
[ ${#odd[@]} -gt 0 ] && run_queue "${odd[@]}"
wait
