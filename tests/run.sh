#!/usr/bin/env bash
# tests/run.sh - everything CI runs, from a clean clone on a fresh Debian 12:
#   1. installs the Debian packages the build and the tests need, if missing;
#   2. builds build/ci (warnings are errors, RelWithDebInfo) and build/asan
#      (AddressSanitizer + UndefinedBehaviorSanitizer, Debug);
#   3. runs the unit tests in build/ci, and every test (unit and integration:
#      the real mosquitto and the ASan-built daemon) in build/asan;
#   3a. for both, a throw-away PostgreSQL cluster (tests/pg.sh: initdb in a
#      temp folder, a free 127.0.0.1 port) runs for the whole run, its URL
#      exported as GA_TEST_PG_URL (test_db_pg fails without it); stopped
#      and deleted on exit;
#   4. builds each tests/fuzz/fuzz_NAME.c with libFuzzer (cmake -DGA_FUZZ=ON,
#      build/fuzz) and runs it for
#      GA_FUZZ_SECONDS (20) on tests/fuzz/corpus/NAME.
# Ends with "N passed, M failed"; exits non-zero on any failure.
# Environment: GA_FUZZ_SECONDS (0 skips the fuzzers), GA_JOBS (2).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${GA_JOBS:-2}
FUZZ_SECONDS=${GA_FUZZ_SECONDS:-20}

PACKAGES=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libmosquitto-dev mosquitto mosquitto-clients libjansson-dev
	libcurl4-openssl-dev libproj-dev proj-data proj-bin libsqlite3-dev sqlite3
	libmicrohttpd-dev libinih-dev libxml2-dev libsodium-dev libcmocka-dev
	libxmlsec1-dev xmlsec1 libpq-dev postgresql-15
	python3 python3-paho-mqtt
	python3-psycopg2 postgresql-15 pg-auto-failover-cli postgresql-15-auto-failover
	chromium fonts-wqy-microhei libxml2-utils openssl nginx-light
)
# The console's browser test runs playwright-core on Node.js; take Debian's
# only when the machine has no node of its own (it may carry a newer one).
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)

step() { printf '\n==== %s\n' "$*"; }

install_missing() {
	local missing=() p sudo=()
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	step "installing ${missing[*]}"
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || {
			echo "run.sh: not root and no sudo; install: ${missing[*]}" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

PASSED=0
FAILED=0
FAILURES=()

# Runs ctest in build dir $1 with extra arguments; adds to the counts.
run_ctest() {
	local dir=$1 log out total failed
	shift
	log=$(mktemp)
	if ctest --test-dir "$dir" --output-on-failure -j"$JOBS" "$@" 2>&1 | tee "$log"; then
		:
	fi
	# "100% tests passed, 0 tests failed out of 12"
	out=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
	if [[ -z $out ]]; then
		if grep -q 'No tests were found' "$log"; then
			rm -f "$log"
			return 0
		fi
		echo "run.sh: ctest in $dir gave no summary" >&2
		FAILED=$((FAILED + 1))
		FAILURES+=("ctest in $dir")
		rm -f "$log"
		return 0
	fi
	total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$out")
	failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$out")
	PASSED=$((PASSED + total - failed))
	FAILED=$((FAILED + failed))
	if ((failed > 0)); then
		while read -r line; do
			FAILURES+=("$dir: $line")
		done < <(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' || true)
	fi
	rm -f "$log"
}

# Builds tests/fuzz/fuzz_NAME.c (cmake -DGA_FUZZ=ON: every harness the
# glob finds, against the library, in build/fuzz) and runs each briefly on
# its corpus. New inputs go to build/fuzz/corpus-NAME, never into the repo.
run_fuzzers() {
	local f name bin
	shopt -s nullglob
	local harnesses=(tests/fuzz/fuzz_*.c)
	shopt -u nullglob
	((${#harnesses[@]} == 0)) && return 0
	((FUZZ_SECONDS == 0)) && { step "fuzzers skipped (GA_FUZZ_SECONDS=0)"; return 0; }
	step "fuzzers: build (build/fuzz, GA_FUZZ=ON)"
	if ! cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
		-DGA_FUZZ=ON -DGA_TESTS=OFF -DGA_SANITIZE=OFF -DGA_WERROR=OFF; then
		FAILED=$((FAILED + 1))
		FAILURES+=("fuzz (configure build/fuzz)")
		return 0
	fi
	for f in "${harnesses[@]}"; do
		name=$(basename "$f" .c)
		name=${name#fuzz_}
		bin=build/fuzz/fuzz_$name
		step "fuzz $name: build"
		if ! cmake --build build/fuzz -j"$JOBS" --target "fuzz_$name"; then
			FAILED=$((FAILED + 1))
			FAILURES+=("fuzz.$name (build)")
			continue
		fi
		step "fuzz $name: ${FUZZ_SECONDS}s"
		mkdir -p "build/fuzz/corpus-$name"
		local seeds=()
		[[ -d tests/fuzz/corpus/$name ]] && seeds=("tests/fuzz/corpus/$name")
		if "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=70000 -print_final_stats=1 \
			-artifact_prefix="build/fuzz/$name-" "build/fuzz/corpus-$name" "${seeds[@]}" \
			>"build/fuzz/$name.log" 2>&1; then
			tail -n 12 "build/fuzz/$name.log"
			PASSED=$((PASSED + 1))
		else
			tail -n 60 "build/fuzz/$name.log"
			FAILED=$((FAILED + 1))
			FAILURES+=("fuzz.$name (see build/fuzz/$name.log and build/fuzz/$name-*)")
		fi
	done
}

install_missing "${PACKAGES[@]}"

# The npm packages the browser and OpenAPI tests use
# (tests/browser/package.json), from the lock file, before ctest runs them
# side by side. A failure is counted; those tests then fail on their own.
step "npm ci in tests/browser"
if ! (cd tests/browser && npm ci --no-audit --no-fund); then
	FAILED=$((FAILED + 1))
	FAILURES+=("npm ci in tests/browser")
fi

# Configures and builds tree $1 with cmake options $2...; a failure is
# counted and its tests are skipped.
build_tree() {
	local dir=$1
	shift
	if cmake -S . -B "$dir" "$@" && cmake --build "$dir" -j"$JOBS"; then
		return 0
	fi
	FAILED=$((FAILED + 1))
	FAILURES+=("build of $dir")
	return 1
}

# One PostgreSQL cluster for the whole run (tests/pg.sh); a failure to
# start it is counted, and the tests that need it then fail on their own.
# shellcheck source=tests/pg.sh
source tests/pg.sh
trap pg_stop EXIT
step "PostgreSQL test cluster (tests/pg.sh)"
if ! pg_start; then
	FAILED=$((FAILED + 1))
	FAILURES+=("PostgreSQL test cluster (tests/pg.sh)")
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

step "build/ci: RelWithDebInfo, -Werror"
if build_tree build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGA_WERROR=ON -DGA_SANITIZE=OFF; then
	step "unit tests, build/ci"
	run_ctest build/ci -R '^unit\.'
fi

step "build/asan: Debug, ASan + UBSan, -Werror"
if build_tree build/asan -DCMAKE_BUILD_TYPE=Debug -DGA_WERROR=ON -DGA_SANITIZE=ON; then
	step "all tests under ASan + UBSan, build/asan"
	run_ctest build/asan
fi

run_fuzzers

printf '\n'
if ((FAILED > 0)); then
	printf 'FAILED:\n'
	printf '  %s\n' "${FAILURES[@]}"
fi
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
