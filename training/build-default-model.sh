#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Regenerates models/default.json, the model file scx_foresight ships, from the inputs in
# training/samples/ (committed):
#   - sim-<seed>.csv: every invocation of a generated trace (the Azure-shaped catalogue of
#     `trace gen`), recorded by the simulator; regenerated here from the seeds, deterministic;
#   - vm-payload.csv: foresight_payload invocations recorded by the live scheduler in the VM
#     (`cargo xtask vm-test --case record` writes target/vm/results/<run>/recorded-samples.csv).
# Usage (from the repository root): sh training/build-default-model.sh
set -eu
cargo build --release --quiet --bin scx_foresight
B=target/release/scx_foresight
for seed in 101 102 103; do
	$B trace gen --cpus 2 --load 0.8 --duration-s 600 --seed "$seed" -o "training/traces/train-$seed.csv"
	# --record appends: start each sample file afresh.
	rm -f "training/samples/sim-$seed.csv"
	$B simulate --trace "training/traces/train-$seed.csv" --cpus 2 --policy fifo \
		--record "training/samples/sim-$seed.csv" --json >/dev/null
done
$B train --samples training/samples/*.csv --min-samples 8 --out models/default.json
