#!/usr/bin/env bash
# Benchmarks clan-migrate against a parse-only baseline (same walker, rnix parse
# of every file, one thread: src/bin/parse-baseline.rs) on generated trees, and
# prints every figure as a ratio measured in the same run (medians of rounds
# that run every command once, timed by hyperfine).
# `fix --write` is also shown next to its file-system floor (src/bin/write-floor.rs:
# the same atomic replacement of the same files, with no analysis).
#
#   scripts/bench.sh [FILES...]        default: 1000 10000 (add 100000 for the large run)
#
# BENCH_EMBEDDED=1 adds, per size, a tree whose files all hold legacy inventory
# embedded in NixOS module code (scripts/gen-corpus.py --embed), as real flakes do.
# BENCH_FORMATS=1 also times `check` in the other output formats (concise,
# github, json, sarif: what CI gates use), on all cores.
#
# Needs cargo, python3, hyperfine, ripgrep and GNU time (Debian: apt-get install
# hyperfine ripgrep time). Trees are generated once into $BENCH_DIR (default: a
# temporary directory) by scripts/gen-corpus.py, deterministically.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine rg python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
cargo build --release -q
root=$PWD
cm=$root/target/release/clan-migrate
base=$root/target/release/parse-baseline
floor=$root/target/release/write-floor
work=${BENCH_DIR:-$(mktemp -d)}
sizes=${*:-1000 10000}
runs=${BENCH_RUNS:-5}
echo "machine: $(nproc) cores, $(uname -m); trees in $work"

# Times several commands and prints the median seconds of each, in order. The
# commands are interleaved: each round runs every command once (hyperfine
# --runs 1), in forward order one round and reversed the next, so that a
# machine that slows down or speeds up during the run (a shared virtual
# machine, the page cache) weighs on all commands alike. One round of warm-up.
# With --prepare CMD first, CMD runs (through a shell) before every timed command.
medians() {
    local prepare=() shell=(-N)
    if [ "$1" = --prepare ]; then prepare=(--prepare "$2"); shell=(); shift 2; fi
    local json=$work/hf.json times=$work/times.txt cmds=("$@") order i
    : >"$times"
    for ((round = 0; round <= runs; round++)); do
        order=("${cmds[@]}")
        if ((round % 2)); then
            order=(); for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do order+=("${cmds[i]}"); done
        fi
        hyperfine "${shell[@]}" -i --runs 1 "${prepare[@]}" --export-json "$json" "${order[@]}" >/dev/null 2>&1
        ((round == 0)) || python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(json.dumps([r["command"], r["times"][0]]))' "$json" >>"$times"
    done
    python3 -c '
import json, statistics, sys
t = {}
for line in open(sys.argv[1]):
    c, s = json.loads(line); t.setdefault(c, []).append(s)
for c in sys.argv[2:]:
    print(round(statistics.median(t[c]), 4))' "$times" "${cmds[@]}"
}
rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

for n in $sizes; do
    shares="0.01 1.0"
    [ "${BENCH_EMBEDDED:-0}" = 1 ] && shares="$shares 1.0-embedded"
    for share in $shares; do
        tree=$work/tree-$n-$share
        embed=()
        [ "$share" = 1.0-embedded ] && embed=(--embed)
        [ -d "$tree" ] || python3 scripts/gen-corpus.py "$tree" --files "$n" \
            --legacy-share "${share%-embedded}" "${embed[@]}"
        # The size of the files' contents (what is read and parsed), in
        # megabytes; not their disk usage, which rounds every file up to a block.
        mb=$(find "$tree" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1e6 }')
        echo
        echo "== $n files, $mb MB, legacy share $share"
        mapfile -t m < <(medians \
            "$base $tree" \
            "$cm check --quiet $tree" \
            "env RAYON_NUM_THREADS=1 $cm check --quiet $tree" \
            "rg -l inventory $tree" \
            "$cm fix --quiet $tree")
        echo "parse-only baseline (1 thread): ${m[0]} s ($(python3 -c "print(round($n/${m[0]}))") files/s, $(python3 -c "print(round($mb/${m[0]},1))") MB/s)"
        echo "check (all cores):               ${m[1]} s = $(ratio "${m[1]}" "${m[0]}")x baseline, $(ratio "${m[1]}" "${m[3]}")x rg -l inventory"
        echo "check (1 thread):                ${m[2]} s = $(ratio "${m[2]}" "${m[0]}")x baseline; 1->$(nproc) threads speed-up $(ratio "${m[2]}" "${m[1]}")x"
        echo "fix, diff (all cores):           ${m[4]} s = $(ratio "${m[4]}" "${m[0]}")x baseline"
        # The files fix changes, for the file-system floor of --write.
        changed=$work/changed-$n-$share.txt
        "$cm" fix --format json "$tree" >"$work/fix.json" 2>/dev/null || true # exit 1: findings remain
        python3 -c '
import json, os, sys
root = sys.argv[1]
for fix in json.load(open(sys.argv[2]))["fixes"]:
    if fix["status"] == "pending":
        print(os.path.relpath(fix["path"], root))' "$tree" "$work/fix.json" > "$changed"
        rm -f "$work/fix.json"
        copy=$work/copy
        # The copy is synced before each timed run: its own write-back is not
        # the tool's cost (fix --write flushes whole file systems, see
        # src/atomic_write.rs).
        mapfile -t w < <(medians --prepare "rm -rf $copy && cp -a $tree $copy && sync" \
            "$cm fix --write --quiet $copy" \
            "$floor $copy $changed")
        echo "fix --write on a copy:           ${w[0]} s = $(ratio "${w[0]}" "${m[0]}")x baseline"
        echo "  atomic replacement of the same $(wc -l < "$changed") files alone (write-floor): ${w[1]} s;" \
            "the rest $(python3 -c "print(round(${w[0]}-${w[1]},4))") s = $(python3 -c "print(f'{(${w[0]}-${w[1]})/${m[0]}:.2f}')")x baseline"
        if [ "${BENCH_FORMATS:-0}" = 1 ]; then
            formats=(concise github json sarif)
            cmds=("$base $tree" "$cm check --quiet $tree")
            for format in "${formats[@]}"; do cmds+=("$cm check --quiet --format $format $tree"); done
            mapfile -t f < <(medians "${cmds[@]}")
            echo "check --format human (all cores): ${f[1]} s = $(ratio "${f[1]}" "${f[0]}")x baseline (baseline ${f[0]} s in this run)"
            for i in "${!formats[@]}"; do
                echo "check --format ${formats[i]} (all cores): ${f[i + 2]} s = $(ratio "${f[i + 2]}" "${f[0]}")x baseline"
            done
        fi
        echo "peak RSS: check $(rss "$cm" check --quiet "$tree") KB, fix $(rss "$cm" fix --quiet "$tree") KB, baseline $(rss "$base" "$tree") KB"
        echo "$n $share ${m[1]}" >> "$work/linear.txt"
    done
done

one=$(find "$work" -name 'f000000.nix' | head -1)
if [ -n "$one" ]; then
    mapfile -t s < <(medians "$cm check --quiet $one")
    echo
    echo "one small file (pre-commit): check ${s[0]} s"
fi
if [[ " $sizes " == *" 10000 "* && " $sizes " == *" 100000 "* ]]; then
    python3 - "$work/linear.txt" <<'PY'
import sys
t = {}
for line in open(sys.argv[1]):
    n, share, sec = line.split(); t[(int(n), share)] = float(sec)
for share in ("0.01", "1.0"):
    if (10000, share) in t and (100000, share) in t:
        print(f"10k -> 100k files (share {share}): {t[(100000, share)] / t[(10000, share)]:.1f}x time")
PY
fi
