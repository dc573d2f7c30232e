#!/usr/bin/env bash
# Report benchmark: what `vigil report` costs on a large journal made by real
# vigil runs, next to what an auditor would do without it: export the journal
# as JSON Lines (`vigil --json journal tail`) and compute the reconciliation
# rows with jq.  See bench/README.md ("Reports") for what is measured and why.
#
# Usage: bash bench/report.sh [--vigil PATH] [--work DIR] [--entries N]
#                             [--files N] [--runs N] [--scale LIST]
#                             [--rebuild-journal]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

VIGIL="$REPO_ROOT/build/release/vigil"
WORK=/var/tmp/vigil-bench-report
ENTRIES=100000
FILES=20000
RUNS=3
SCALE=25000
REBUILD=0
NPROC=$(nproc)

usage() {
	cat <<'EOF'
Usage: bash bench/report.sh [options]

  --vigil PATH          vigil binary (default: <repo>/build/release/vigil)
  --work DIR            work directory: trees, journals, outputs, logs, results
                        (default: /var/tmp/vigil-bench-report)
  --entries N           size of the measured journal, in entries (default 100000)
  --files N             files in the monitored tree (default 20000)
  --runs N              timed runs of each command; the median is shown (default 3)
  --scale LIST          smaller journals (comma-separated entry counts) on which
                        the reconciliation report and the jq program are timed
                        too, to see how they grow (default 25000; "none": no scaling)
  --rebuild-journal     build the journals again even when they exist
  -h, --help            this text
EOF
}

die() { printf 'report.sh: error: %s\n' "$*" >&2; exit 1; }
say() { printf '[report %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

while (($#)); do
	case $1 in
	--vigil) VIGIL=${2:?--vigil needs a path}; shift 2 ;;
	--vigil=*) VIGIL=${1#*=}; shift ;;
	--work) WORK=${2:?--work needs a directory}; shift 2 ;;
	--work=*) WORK=${1#*=}; shift ;;
	--entries) ENTRIES=${2:?--entries needs a number}; shift 2 ;;
	--entries=*) ENTRIES=${1#*=}; shift ;;
	--files) FILES=${2:?--files needs a number}; shift 2 ;;
	--files=*) FILES=${1#*=}; shift ;;
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--runs=*) RUNS=${1#*=}; shift ;;
	--scale) SCALE=${2:?--scale needs a list}; shift 2 ;;
	--scale=*) SCALE=${1#*=}; shift ;;
	--rebuild-journal) REBUILD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done

for v in ENTRIES FILES RUNS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v,,} must be a positive whole number, got '${!v}'"
done
[[ $SCALE == none ]] && SCALE=""
IFS=', ' read -r -a SCALE_LIST <<<"$SCALE"
for n in "${SCALE_LIST[@]}"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] && ((n < ENTRIES)) || die "--scale: '$n' is not a number of entries below $ENTRIES"
done
[[ $VIGIL == /* ]] || VIGIL="$PWD/$VIGIL"
[[ -x $VIGIL ]] || die "no vigil binary at $VIGIL (build one: meson setup build/release -Dbuildtype=release && ninja -C build/release, or pass --vigil)"
"$VIGIL" --help 2>&1 | grep -q 'report' || die "'$VIGIL --help' does not mention report: too old a build"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed (Debian package 'time')"
command -v jq >/dev/null || die "jq is needed (Debian package 'jq')"

# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
. "$SCRIPT_DIR/lib.sh"
bench_work_dir
OUT="$WORK/out"                  # report outputs of this run (large; replaced by each run)
RESULTS="$WORK/results.md"
rm -rf "$OUT"
mkdir -p "$WORK/bin" "$LOGROOT" "$OUT"

# The binary is copied so that a rebuild during the run cannot mix two builds.
rm -f "$WORK"/bin/vigil.*
cp "$VIGIL" "$WORK/bin/vigil.$RUN_ID"
VIGIL_SRC=$VIGIL
VIGIL="$WORK/bin/vigil.$RUN_ID"
VIGIL_SUM=$(sha256sum "$VIGIL" | cut -c1-16)
VIGIL_MTIME=$(date -u -r "$VIGIL_SRC" '+%Y-%m-%d %H:%M UTC')
REPO_HEAD=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
REPO_DIRTY=$(git -C "$REPO_ROOT" status --porcelain -- src meson.build 2>/dev/null | awk '{ print $2 }' | paste -sd' ' || true)

declare -A R=()        # results


# timed LOG TSV CMD...: runs CMD once under /usr/bin/time (stdin /dev/null,
# stdout and stderr to LOG.out and LOG.err unless CMD redirects itself), appends
# "<wall s> <user s> <sys s> <user+sys s> <peak RSS KiB> <exit status>" to TSV.
# CPU time and RSS include the children CMD waited for (bash -c pipelines).
timed() {
	local log=$1 tsv=$2 rc=0 w u s m
	shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$log.time" "$@" </dev/null >"$log.out" 2>"$log.err" || rc=$?
	read -r w u s m <"$log.time"
	printf '%s %s %s %s %s %s\n' "$w" "$u" "$s" "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')" "$m" "$rc" >>"$tsv"
	return "$rc"
}

# series KEY OUTFILE CMD...: RUNS timed runs of CMD, which writes OUTFILE
# (the string @OUT@ in CMD is replaced by OUTFILE.RUN); every run's file must
# be byte-identical to the first's. Sets R[KEY.wall|cpu|rss|bytes|same].
series() {
	local key=$1 outf=$2 i a args=()
	shift 2
	rm -f "$LOGROOT/$key.tsv"
	for ((i = 1; i <= RUNS; i++)); do
		args=()
		for a in "$@"; do args+=("${a//@OUT@/$outf.$i}"); done
		timed "$LOGROOT/$key.$i" "$LOGROOT/$key.tsv" "${args[@]}" ||
			die "$key: run $i failed (status $?); see $LOGROOT/$key.$i.err"
	done
	R[$key.same]=yes
	for ((i = 2; i <= RUNS; i++)); do
		cmp -s "$outf.1" "$outf.$i" || { R[$key.same]=NO; note "$key: the output of run $i differs from run 1 ($outf.1, $outf.$i)"; }
	done
	R[$key.bytes]=$(stat -c %s "$outf.1")
	read -r R[$key.wall] _ < <(stats "$LOGROOT/$key.tsv" 1)
	read -r R[$key.cpu] _ < <(stats "$LOGROOT/$key.tsv" 4)
	read -r _ R[$key.rss] < <(stats "$LOGROOT/$key.tsv" 5)
	say "$key: wall ${R[$key.wall]} s, CPU ${R[$key.cpu]} s, peak RSS $(mib "${R[$key.rss]}") (median of $RUNS; outputs identical: ${R[$key.same]})"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }

# --------------------------------------------------------------------------
# The journal: real init and check runs over a tree of small files
# --------------------------------------------------------------------------
# build_journal DIR TARGET: a tree of FILES files (20 directories), settings
# with two exec alert channels (/bin/true, so every delivery succeeds at once
# and none waits for a retry), one rule for the tree; init, then rounds of
# "append a byte to K files, check" until the journal holds about TARGET
# entries (each change is a change.detected and an alert.raised or
# alert.grouped entry), then a checkpoint.
build_journal() {
	local d=$1 target=$2 size=0 round=0 k i f t0
	if [[ -f $d/done && $REBUILD == 0 ]] && [[ $(cat "$d/done") == "$target $FILES" ]]; then
		say "journal of $target entries: reusing $d"
		return
	fi
	rm -rf "$d"
	mkdir -p "$d/tree" "$d/rules.d" "$d/state"
	say "journal of $target entries: writing $FILES files under $d/tree"
	for ((i = 0; i < FILES; i++)); do
		((i % 1000 == 0)) && mkdir -p "$d/tree/d$((i / 1000))"
		printf 'file %d of the report benchmark\n' "$i" >"$d/tree/d$((i / 1000))/f$i"
	done
	cat >"$d/vigil.conf" <<'EOF'
[alerts]
channels = one, two

[channel.one]
type = exec
command = /bin/true

[channel.two]
type = exec
command = /bin/true
EOF
	printf '%s/tree/**\n' "$d" >"$d/rules.d/bench.rules"
	local V=("$VIGIL" --config "$d/vigil.conf" --rules "$d/rules.d" --state-dir "$d/state")
	t0=$(date +%s%N)
	rm -f "$LOGROOT/build-$target.tsv"
	timed "$LOGROOT/build-$target.init" "$LOGROOT/build-$target.tsv" "${V[@]}" init || die "init failed; see $LOGROOT/build-$target.init.err"
	size=$(journal_size "$d")
	while ((target - size > 100)); do
		round=$((round + 1))
		k=$(((target - size) / 2))
		((k > FILES)) && k=$FILES
		for ((i = 0; i < k; i++)); do
			f="$d/tree/d$((i / 1000))/f$i"
			printf '%d\n' "$round" >>"$f"
		done
		timed "$LOGROOT/build-$target.check$round" "$LOGROOT/build-$target.tsv" "${V[@]}" check || true
		size=$(journal_size "$d")
		say "journal of $target entries: round $round changed $k files; $size entries"
	done
	"${V[@]}" journal checkpoint >"$LOGROOT/build-$target.checkpoint" 2>&1 || die "checkpoint failed"
	R[build.$target.wall]=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	R[build.$target.rounds]=$round
	echo "${R[build.$target.wall]} $round" >"$d/build-time"
	echo "$target $FILES" >"$d/done"
}
# journal_size DIR: the number of entries (the last entry's index + 1)
journal_size() {
	"$VIGIL" --config "$1/vigil.conf" --rules "$1/rules.d" --state-dir "$1/state" --json journal tail -n 1 2>/dev/null |
		jq -r '.index + 1'
}

# --------------------------------------------------------------------------
# The jq programs: the "changes" table of `vigil report reconciliation
# --format csv`, the same bytes (section line, column names, rows, CRLF).
# --------------------------------------------------------------------------
cat >"$WORK/bin/lib.jq" <<'EOF'
# a CSV field as RFC 4180 wants it, quoted only when needed; null is empty
def field: if . == null then "" else tostring | if test("[,\"\r\n]") then "\"" + gsub("\""; "\"\"") + "\"" else . end end;
# RFC 3339 UTC with microseconds to microseconds since the epoch
def usec: (.[0:19] + "Z" | fromdateiso8601) * 1000000 + (.[20:26] | tonumber);
# a record's name: its id, or SOURCE/ID for an imported record
def rname: if .id == null then "?" elif (.source // "local") == "local" then .id else "\(.source)/\(.id)" end;
def header: "table:changes", "index,change,time,host,object,action,source,disposition,authorized_by,by,evidence,package,alert,latency_s";
# one row from a change.detected entry $e, the first alert naming each change
# ($alert: change id -> alert id) and the retroactive authorizations ($retro:
# change id -> change.authorized entry)
def row($alert; $retro):
	. as $e | $e.event as $ev | $ev.vigil.authorization as $au | $retro[$ev.event.id // ""] as $re
	| ($ev["@timestamp"] // $e.time) as $at
	| [ $e.index, $ev.event.id, $at, $ev.host.name, $ev.vigil.object, $ev.vigil.change,
	    $ev.vigil.detection.source,
	    (if $re then "authorized" else $ev.vigil.disposition end),
	    (if $re then ($re.record // {} | rname) elif $au then ($au.record // {} | rname) else null end),
	    (if $re then "retroactive" elif $au then $au.by else null end),
	    $au.package.evidence,
	    (if $au.package.name then "\($au.package.name) \($au.package.version // "")" else null end),
	    ($alert[$ev.event.id // ""] | if . == "" then null else . end),
	    (if $ev.file.ctime and $ev["@timestamp"] and ($at | usec) >= ($ev.file.ctime | usec)
	     then ((($at | usec) - ($ev.file.ctime | usec)) / 1000000 | floor) else null end) ]
	| map(field) | join(",");
def is_alert: (.type == "alert.raised" or .type == "alert.grouped") and .alert.id != null and .item.ref != null;
EOF
# jq -s: the whole journal in memory as one array, as an auditor would write it
cat >"$WORK/bin/slurp.jq" <<'EOF'
. as $all
| (reduce ($all[] | select(is_alert)) as $a ({}; if has($a.item.ref) then . else .[$a.item.ref] = $a.alert.id end)) as $alert
| (reduce ($all[] | select(.type == "change.authorized" and .change.id != null)) as $r ({}; .[$r.change.id] = $r)) as $retro
| (header, ($all[] | select(.type == "change.detected") | row($alert; $retro))) + "\r\n"
EOF
# two passes of jq -n over the lines, holding only the maps: the first
# collects the alert of each change and the retroactive authorizations, the
# second prints a row for each change.detected line as it reads it.  (Collecting
# the rows in one pass with ".changes += [...]" in a reduce, or filling
# ".alert[$k]" of a reduce state with two maps, is quadratic in jq 1.6: each
# update copies the array or the inner object; a reduce over a flat object
# is not.)
cat >"$WORK/bin/maps.jq" <<'EOF'
[inputs | select(is_alert or (.type == "change.authorized" and .change.id != null))
 | {type, alert: {id: .alert.id}, item: {ref: .item.ref}, change: {id: .change.id}, record}] as $l
| {alert: (reduce ($l[] | select(is_alert)) as $a ({}; if has($a.item.ref) then . else .[$a.item.ref] = $a.alert.id end)),
   retro: (reduce ($l[] | select(.type == "change.authorized")) as $r ({}; .[$r.change.id] = $r))}
EOF
cat >"$WORK/bin/rows.jq" <<'EOF'
$maps[0] as $m
| (header, (inputs | select(.type == "change.detected") | row($m.alert; $m.retro))) + "\r\n"
EOF

# changes_section CSV: the "changes" section of a reconciliation CSV report
changes_section() { awk '/^table:changes\r$/ { f = 1 } f && /^\r$/ { exit } f' "$1"; }

# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
REPORTS=(
	"rec.csv|reconciliation --format csv|csv"
	"rec.json|reconciliation --format json|json"
	"rec.html|reconciliation --format html|html"
	"alerts.csv|alerts --format csv|csv"
	"coverage.html|coverage --format html|html"
	"sample.json|sample --count 25 --seed x --format json|json"
	"journal.json|journal --format json|json"
)

# measure_jq PREFIX DIR: export the journal of DIR and run both jq programs;
# their output must equal the changes section of PREFIX.rec.csv's first output
measure_jq() {
	local p=$1 d=$2 jl="$OUT/$1.journal.jsonl"
	local V=("$VIGIL" --config "$d/vigil.conf" --rules "$d/rules.d" --state-dir "$d/state")
	series "$p.export" "$jl" bash -c '"$@" --json journal tail -n 1000000 >"$0"' "@OUT@" "${V[@]}"
	cp "$jl.1" "$jl"
	R[$p.jsonl_lines]=$(wc -l <"$jl")
	series "$p.jq-s" "$OUT/$p.jq-s.csv" bash -c 'jq -s -j -L "$1" "include \"lib\"; $(cat "$1/slurp.jq")" "$2" >"$0"' "@OUT@" "$WORK/bin" "$jl"
	series "$p.jq-2" "$OUT/$p.jq-2.csv" bash -c 'jq -n -c -L "$1" "include \"lib\"; $(cat "$1/maps.jq")" "$2" >"$0.maps" &&
		jq -n -j -L "$1" --slurpfile maps "$0.maps" "include \"lib\"; $(cat "$1/rows.jq")" "$2" >"$0"' "@OUT@" "$WORK/bin" "$jl"
	changes_section "$OUT/$p.rec.csv.1" >"$OUT/$p.rec.changes.csv"
	R[$p.rows]=$(($(wc -l <"$OUT/$p.rec.changes.csv") - 2))
	local k
	for k in jq-s jq-2; do
		R[$p.$k.rows]=$(($(wc -l <"$OUT/$p.$k.csv.1") - 2))
		if cmp -s "$OUT/$p.rec.changes.csv" "$OUT/$p.$k.csv.1"; then
			R[$p.$k.equal]="identical"
		else
			R[$p.$k.equal]="DIFFERENT"
			note "$p: the rows of $k differ from vigil's ($OUT/$p.$k.csv.1 vs $OUT/$p.rec.changes.csv): $(diff "$OUT/$p.rec.changes.csv" "$OUT/$p.$k.csv.1" | head -n 3 | tr '\r\n' '  ')"
		fi
		say "$p: $k: ${R[$p.$k.rows]} rows, vigil ${R[$p.rows]}: ${R[$p.$k.equal]}"
	done
}

# measure_size PREFIX TARGET ALL: build (or reuse) the journal of TARGET
# entries, time the reports (all of REPORTS when ALL is 1, else the
# reconciliation CSV only) and the jq alternative
measure_size() {
	local p=$1 target=$2 all=$3 d="$WORK/journal-$2" spec key args fmt before after
	build_journal "$d" "$target"
	[[ -n ${R[build.$target.wall]:-} ]] || read -r R[build.$target.wall] R[build.$target.rounds] <"$d/build-time"
	local V=("$VIGIL" --config "$d/vigil.conf" --rules "$d/rules.d" --state-dir "$d/state")
	R[$p.entries]=$(journal_size "$d")
	R[$p.db]=$(du -sb "$d/state" | cut -f1)
	before=${R[$p.entries]}
	for spec in "${REPORTS[@]}"; do
		IFS='|' read -r key args fmt <<<"$spec"
		((all)) || [[ $key == rec.csv ]] || continue
		# shellcheck disable=SC2086
		series "$p.$key" "$OUT/$p.$key" "${V[@]}" report $args -o "@OUT@"
	done
	after=$(journal_size "$d")
	[[ $before == "$after" ]] || note "$p: the journal grew from $before to $after entries during the reports"
	measure_jq "$p" "$d"
}

say "vigil $VIGIL_SRC (commit $REPO_HEAD), $RUNS runs per command, work directory $WORK"
measure_size main "$ENTRIES" 1
for n in "${SCALE_LIST[@]}"; do
	measure_size "s$n" "$n" 0
done

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
g() { printf '%s' "${R[$1]:-}"; }
ratio() {
	if [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > 0) }'; then
		awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r > 0 && r < 1) printf "%.3g (1/%.3g)", r, 1 / r; else printf "%.3g", r }'
	else
		printf '—'
	fi
}
row() {  # row LABEL KEY
	printf '| %s | %s s | %s s | %s | %s | %s |\n' "$1" "$(g "$2.wall")" "$(g "$2.cpu")" "$(mib "$(g "$2.rss")")" "$(g "$2.bytes")" "$(g "$2.same")"
}
{
	echo "# Reports"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), run id $RUN_ID, logs in \`$LOGROOT\`"
	echo "- machine: $NPROC cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r); jq $(jq --version | sed 's/^jq-//')"
	echo "- vigil: \`$VIGIL_SRC\` (built $VIGIL_MTIME, sha256 $VIGIL_SUM...); repository at the start of the run: commit $REPO_HEAD${REPO_DIRTY:+, uncommitted changes to $REPO_DIRTY}"
	echo "- journal: $(g main.entries) entries, $(g main.jsonl_lines) JSON lines of $(g main.export.bytes) bytes as exported; store $(g main.db) bytes; $(g main.rows) changes; built by init and $(g build.$ENTRIES.rounds) checks over $FILES files in $(g build.$ENTRIES.wall) s"
	echo
	echo "Median of $RUNS runs (peak RSS: the highest); \"same\": every run's output byte-identical to the first's."
	echo
	echo "| command | wall | CPU | peak RSS | output bytes | same |"
	echo "|---|---:|---:|---:|---:|---|"
	for spec in "${REPORTS[@]}"; do
		IFS='|' read -r key args fmt <<<"$spec"
		row "\`vigil report $args -o FILE\`" "main.$key"
	done
	row "\`vigil --json journal tail -n 1000000 > journal.jsonl\`" main.export
	row "\`jq -s\` over journal.jsonl (changes rows as CSV)" main.jq-s
	row "two passes of \`jq -n\` over journal.jsonl (the same)" main.jq-2
	echo
	echo "Reconciliation, vigil next to jq (the jq programs print the \"changes\" section of vigil's CSV):"
	echo
	echo "| alternative | rows (vigil $(g main.rows)) | bytes vs vigil's section | wall vigil / jq | CPU vigil / jq | RSS vigil / jq | wall vigil / (export + jq) |"
	echo "|---|---:|---|---:|---:|---:|---:|"
	for k in jq-s jq-2; do
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "\`$k\`" "$(g main.$k.rows)" "$(g main.$k.equal)" \
			"$(ratio "$(g main.rec.csv.wall)" "$(g main.$k.wall)")" \
			"$(ratio "$(g main.rec.csv.cpu)" "$(g main.$k.cpu)")" \
			"$(ratio "$(g main.rec.csv.rss)" "$(g main.$k.rss)")" \
			"$(ratio "$(g main.rec.csv.wall)" "$(awk -v a="$(g main.export.wall)" -v b="$(g main.$k.wall)" 'BEGIN { print a + b }')")"
	done
	if ((${#SCALE_LIST[@]})); then
		echo
		echo "Growth with the journal (reconciliation CSV and \`jq -s\`, median wall / CPU / peak RSS):"
		echo
		echo "| entries | changes | vigil report reconciliation | RSS per 100k entries | jq -s | export |"
		echo "|---:|---:|---|---:|---|---|"
		for p in "${SCALE_LIST[@]/#/s}" main; do
			printf '| %s | %s | %s s / %s s / %s | %s | %s s / %s s / %s | %s s |\n' "$(g $p.entries)" "$(g $p.rows)" \
				"$(g $p.rec.csv.wall)" "$(g $p.rec.csv.cpu)" "$(mib "$(g $p.rec.csv.rss)")" \
				"$(awk -v k="$(g $p.rec.csv.rss)" -v n="$(g $p.entries)" 'BEGIN { printf "%.0f MiB", k / 1024 * 100000 / n }')" \
				"$(g $p.jq-s.wall)" "$(g $p.jq-s.cpu)" "$(mib "$(g $p.jq-s.rss)")" "$(g $p.export.wall)"
		done
	fi
	if ((${#NOTES[@]})); then
		echo
		echo "Notes:"
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
	fi
} >"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cp "$RESULTS" "$LOGROOT/results.md"
cp "$WORK"/bin/*.jq "$LOGROOT/"
cat "$RESULTS"
