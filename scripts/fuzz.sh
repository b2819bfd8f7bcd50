#!/usr/bin/env bash
# `make fuzz`: builds the cargo-fuzz targets in fuzz/ (nightly, AddressSanitizer)
# and runs each for FUZZ_SECONDS (default 60), then prints, per target, the
# executions and whether it crashed.
#
#   FUZZ_SECONDS=600 make fuzz                 # longer runs
#   FUZZ_TARGETS="transpile config" make fuzz  # some targets only
#   FUZZ_FLAGS="-fork=2 -ignore_crashes=1"     # extra libFuzzer flags (keep going after a crash)
#   FUZZ_BUILD_FLAGS=-O                        # cargo-fuzz build flags: -O drops debug assertions
#
# cargo-fuzz builds with debug assertions by default, in dependencies too:
# swc_ecma_parser 47 fails one (`self.cur() != Token::Eof`, on malformed enum
# members) that release builds do not check; its inputs are in fuzz/regressions/.
#
# The corpus of each target lives in fuzz/corpus/<target>/ and is committed
# (minimized with `cargo fuzz cmin` after each run, so it stays small); crash
# inputs land in fuzz/artifacts/<target>/ (not committed): copy each into
# fuzz/regressions/<target>/, where a test replays it (tests/all/fuzz_regressions.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TOOLCHAIN=${FUZZ_TOOLCHAIN:-nightly}
TARGETS=${FUZZ_TARGETS:-transpile config typegen tool_result sandbox_run}
# A run of `sandbox_run` takes at most its 2 s deadline plus the stop grace.
LIBFUZZER_FLAGS=(-max_total_time="$SECONDS_PER_TARGET" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# The guest component, as the workspace build made it (it needs the stable
# toolchain's wasm32-wasip2 target, which nightly may lack): `make fuzz` builds
# it first. Its name carries its content hash, so a changed guest rebuilds the host.
guest=target/guest/wasm32-wasip2/release/guest_sdk.wasm
if [ ! -f "$guest" ]; then
  echo "fuzz: $guest is missing: run \`make build\` first" >&2
  exit 1
fi
mkdir -p fuzz/target/logs
stamped="$PWD/fuzz/target/guest-$(sha256sum "$guest" | cut -c1-16).wasm"
[ -f "$stamped" ] || cp "$guest" "$stamped"
export MCP_CODE_RUNTIME_GUEST_WASM="$stamped"

cd fuzz
# shellcheck disable=SC2086
cargo +"$TOOLCHAIN" fuzz build ${FUZZ_BUILD_FLAGS:-}
summary=()
status=0
for target in $TARGETS; do
  log="target/logs/$target.log"
  echo "fuzz: running $target for ${SECONDS_PER_TARGET}s (log: fuzz/$log)" >&2
  # shellcheck disable=SC2086 # FUZZ_FLAGS and FUZZ_BUILD_FLAGS are lists of flags
  if cargo +"$TOOLCHAIN" fuzz run ${FUZZ_BUILD_FLAGS:-} "$target" -- "${LIBFUZZER_FLAGS[@]}" ${FUZZ_FLAGS:-} >"$log" 2>&1; then
    outcome="no crash"
  else
    outcome="CRASHED: see fuzz/artifacts/$target/ and fuzz/$log"
    status=1
  fi
  # shellcheck disable=SC2086
  cargo +"$TOOLCHAIN" fuzz cmin ${FUZZ_BUILD_FLAGS:-} "$target" >>"$log" 2>&1 || echo "fuzz: cmin of $target failed (see fuzz/$log)" >&2
  # Final stats, or with -fork the last status line (`#N: cov ...`).
  executions=$(awk '/stat::number_of_executed_units:/ { total += $2; stats = 1 }
                    /^#[0-9]+: cov/ { forked = substr($1, 2) + 0 }
                    END { print stats ? total : forked + 0 }' "$log")
  summary+=("$target: $executions executions, $outcome")
done
printf 'fuzz: %s\n' "${summary[@]}"
exit "$status"
