#!/bin/bash
# `make demo`: starts crucible-server on an embedded SQLite store in a fresh
# data directory, audits the bundled LeNet on 1,000 bundled Fashion-MNIST test
# images through the `crucible` command line, prints the report, and stops
# the server.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
data_dir=$(mktemp -d /tmp/crucible-demo.XXXXXX)
log="$data_dir/server.log"
"$BUILD/server/crucible-server" --listen 127.0.0.1:0 --data-dir "$data_dir" 2>"$log" &
server_pid=$!
trap 'kill -TERM $server_pid 2>/dev/null; wait $server_pid 2>/dev/null; rm -rf "$data_dir"' EXIT
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*event=server_started .*port=\([0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "crucible-server did not start:"; cat "$log"; exit 1; }
echo "crucible-server listening on 127.0.0.1:$port (data in $data_dir)"

# The images are uint8; the model expects [0, 1]: divide by 255.
echo '{"preprocess": {"std": [255]}}' > "$data_dir/evaluate.json"
"$BUILD/clients/cli/crucible" --server "127.0.0.1:$port" run --engine evaluate \
    --model tests/fixtures/models/fmnist_lenet.onnx \
    --inputs tests/fixtures/data/fmnist_test_1000_images.npy \
    --labels tests/fixtures/data/fmnist_test_1000_labels.npy \
    --config "$data_dir/evaluate.json"
