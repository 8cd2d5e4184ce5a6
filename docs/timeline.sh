#!/bin/sh
# Makes docs/timeline.png: the bundled record's timeline page in headless Chromium,
# at WIDTH px (default 1400; try 1000 for a narrow screen). Run from the repository:
#   sh docs/timeline.sh [WIDTH] [OUT.png]
# The clock is pinned as in the tests, so the page is the golden file's; it opens with
# an inference (Ukraine's stance on NATO membership) in the panel.
set -eu
width=${1:-1400}
out=${2:-docs/timeline.png}
cargo build --release --quiet
bin=$(pwd)/target/release/pactlog
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
PACTLOG_NOW=2025-12-01T12:00:00Z "$bin" -q --db "$dir/ledger" import events/russia-ukraine-2025/01-talks.ndjson
PACTLOG_NOW=2025-12-01T12:00:00Z "$bin" -q --db "$dir/ledger" import examples/staged-correction/01-misattribution.ndjson
PACTLOG_NOW=2025-12-02T12:00:00Z "$bin" -q --db "$dir/ledger" import examples/staged-correction/02-correction.ndjson
PACTLOG_NOW=2026-11-26T09:00:00Z "$bin" -q --db "$dir/ledger" timeline --html "$dir/timeline.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$width,900" --screenshot="$(pwd)/$out" "file://$dir/timeline.html#nato-membership/40" 2>/dev/null
echo "wrote $out ($width px wide)"
