#!/usr/bin/env bash
# Benchmarks clan-migrate against a parse-only baseline (same walker, rnix parse
# of every file, one thread: examples/parse-baseline.rs) on generated trees, and
# prints every figure as a ratio measured in the same run (medians of rounds
# that run every command once, timed by hyperfine).
# `fix --write` is also shown next to its file-system floor (examples/write-floor.rs:
# the same atomic replacement of the same files, with no analysis).
#
#   scripts/bench.sh [FILES...]        default: 1000 10000 (add 100000 for the large run)
#
# BENCH_EMBEDDED=1 adds, per size, a tree whose files all hold legacy inventory
# embedded in NixOS module code (scripts/gen-corpus.py --embed), as real flakes do.
# At the end the run prints its verdict: every target of the performance
# issue, its value from this run's medians, and whether it is met.
# BENCH_FORMATS=1 also times `check` in the other output formats (concise,
# github, json, sarif: what CI gates use), on all cores.
#
# Needs cargo, python3, hyperfine, ripgrep and GNU time (Debian: apt-get install
# hyperfine ripgrep time). Trees are generated once into $BENCH_DIR (default: a
# temporary directory) by scripts/gen-corpus.py, deterministically. The
# `fix --write` rounds of a tree keep 2 * (BENCH_RUNS + 1) copies of it there
# until its last round (17 GB for the 100,000-file tree of 1% legacy files).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine rg python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
# The binary as `cargo install` builds it: on its own, since building the
# examples in the same call would switch on the dev-dependency features
# (failpoints) for it too.
cargo build --release -q --bin clan-migrate
cargo build --release -q --example parse-baseline --example write-floor
root=$PWD
cm=$root/target/release/clan-migrate
base=$root/target/release/examples/parse-baseline
floor=$root/target/release/examples/write-floor
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
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
# Peak RSS in KB (check and fix exit 1 when findings remain: not a failure here).
rss() { { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null || true; } | tail -1; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
# Files/s and MB/s of a command that took $1 seconds over the current tree.
rate() { python3 -c "print(f'{$n/$1:,.0f} files/s, {$mb/$1:.1f} MB/s')"; }
# Every figure of the run, one per line ("FILES SHARE KEY VALUE"), for the
# verdict against the targets at the end.
results=$work/results.txt
# Where fix --write's copies go, and when files were last deleted there (see
# the --write measurement below).
copy=$work/copy
used=$work/used-copies
deleted_at=0
if [ -e "$copy" ] || [ -e "$used" ]; then
    rm -rf "$copy" "$used"
    deleted_at=$(date +%s)
fi
settle() {
    local wait=$((deleted_at + 61 - $(date +%s)))
    if ((wait > 0)); then sleep "$wait"; fi
}
: >"$results"
record() { echo "$n $share $1 $2" >>"$results"; }

for n in $sizes; do
    shares="0.01 1.0"
    [ "${BENCH_EMBEDDED:-0}" = 1 ] && shares="$shares 1.0-embedded"
    for share in $shares; do
        tree=$work/tree-$n-$share
        embed=()
        [ "$share" = 1.0-embedded ] && embed=(--embed)
        # Generated beside its place and moved there whole, so that an
        # interrupted run does not leave a partial tree to be timed next time.
        if [ ! -d "$tree" ]; then
            rm -rf "$tree.partial"
            python3 scripts/gen-corpus.py "$tree.partial" --files "$n" \
                --legacy-share "${share%-embedded}" "${embed[@]}"
            mv "$tree.partial" "$tree"
        fi
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
        echo "parse-only baseline (1 thread): ${m[0]} s ($(rate "${m[0]}"))"
        echo "check (all cores):               ${m[1]} s = $(ratio "${m[1]}" "${m[0]}")x baseline, $(ratio "${m[1]}" "${m[3]}")x rg -l inventory ($(rate "${m[1]}"))"
        echo "check (1 thread):                ${m[2]} s = $(ratio "${m[2]}" "${m[0]}")x baseline; 1->$(nproc) threads speed-up $(ratio "${m[2]}" "${m[1]}")x ($(rate "${m[2]}"))"
        echo "fix, diff (all cores):           ${m[4]} s = $(ratio "${m[4]}" "${m[0]}")x baseline ($(rate "${m[4]}"))"
        record baseline "${m[0]}"
        record check "${m[1]}"
        record check1 "${m[2]}"
        record rg "${m[3]}"
        record fix "${m[4]}"
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
        # The copy is synced before each timed run: its own write-back is not
        # the tool's cost (fix --write flushes whole file systems, see
        # src/atomic_write.rs). Used copies are set aside, not deleted, until
        # the tree's last round, and no round starts within a minute of a
        # deletion: ext4 without a journal passes over inodes freed in the
        # last minute (longer while their inode table is not written back)
        # when it allocates new ones (fs/ext4/ialloc.c, recently_deleted), so
        # deleting a copy before each round made every round's temporary
        # files cost more, the tool's and the floor's alike, in a way no
        # user's run does.
        settle
        mkdir -p "$used"
        mapfile -t w < <(medians --prepare "if [ -e $copy ]; then mv $copy $used/\$(date +%s%N); fi && cp -a $tree $copy && sync" \
            "$cm fix --write --quiet $copy" \
            "$floor $copy $changed")
        rm -rf "$copy" "$used"
        deleted_at=$(date +%s)
        echo "fix --write on a copy:           ${w[0]} s = $(ratio "${w[0]}" "${m[0]}")x baseline ($(rate "${w[0]}"))"
        record write "${w[0]}"
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
        rss_check=$(rss "$cm" check --quiet "$tree")
        rss_fix=$(rss "$cm" fix --quiet "$tree")
        echo "peak RSS: check $rss_check KB, fix $rss_fix KB, baseline $(rss "$base" "$tree") KB"
        record rss_check "$rss_check"
        record rss_fix "$rss_fix"
    done
done

# A module of the 1% tree of the first size: a clan of realistic size, which
# a file named alone reads whole for its cross-file facts.
one=$work/tree-${sizes%% *}-0.01/d0000/f000000.nix
[ -f "$one" ] || one=
if [ -n "$one" ]; then
    mapfile -t s < <(medians "$cm check --quiet $one")
    echo
    echo "one small file (pre-commit): check ${s[0]} s"
    n=1 share=one record check "${s[0]}"
fi

# The verdict: every target of the performance issue, from this run's medians.
python3 - "$results" <<'PY'
import sys
t = {}
for line in open(sys.argv[1]):
    n, share, key, value = line.split()
    t[(int(n), share, key)] = float(value)
sizes = sorted({n for n, _, _ in t if n > 1})
names = {"0.01": "1% legacy", "1.0": "nothing but inventory", "1.0-embedded": "inventory inside module code"}
rows = []
def row(target, value, limit, at_most=True, unit="x"):
    met = value <= limit if at_most else value >= limit
    rows.append((target, f"{value:.2f}{unit}", f"{'<=' if at_most else '>='} {limit}{unit}", "met" if met else "NOT MET"))
for n in sizes:
    def get(share, key):
        return t.get((n, share, key))
    if get("0.01", "check") is not None:
        row(f"{n} files, {names['0.01']}: check / baseline", get("0.01", "check") / get("0.01", "baseline"), 0.25)
        row(f"{n} files, {names['0.01']}: check / rg -l inventory", get("0.01", "check") / get("0.01", "rg"), 3)
    for share in ("1.0", "1.0-embedded"):
        if get(share, "check") is None:
            continue
        what = f"{n} files, {names[share]}"
        base = get(share, "baseline")
        row(f"{what}: check, 1 thread / baseline", get(share, "check1") / base, 1.3)
        row(f"{what}: check speed-up, 1 -> all threads", get(share, "check1") / get(share, "check"), 1.7, at_most=False)
        row(f"{what}: fix (diff) / baseline", get(share, "fix") / base, 2.5)
        row(f"{what}: fix --write / baseline", get(share, "write") / base, 2.5)
for share in ("0.01", "1.0", "1.0-embedded"):
    a, b = t.get((10000, share, "check")), t.get((100000, share, "check"))
    if a and b:
        row(f"10k -> 100k files, {names[share]}: check time", b / a, 12)
    for key in ("rss_check", "rss_fix"):
        rss = t.get((100000, share, key))
        if rss:
            row(f"100000 files, {names[share]}: peak RSS of {key[4:]}", rss / 1024, 64, unit=" MiB")
one = t.get((1, "one", "check"))
if one is not None:
    row("one small file: check", one * 1000, 5, unit=" ms")
width = max(len(r[0]) for r in rows)
print("\ntargets (medians of this run):")
for target, value, limit, verdict in rows:
    print(f"  {target:<{width}}  {value:>10}  (target {limit})  {verdict}")
PY
