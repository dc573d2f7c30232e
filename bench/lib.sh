# Shared by the benchmark scripts (sourced): the work directory's set-up.

# bench_work_dir: makes $WORK, resolves it, refuses one inside the repository or "/",
# takes its lock (fd 9) so two runs never share it, enters it, and sets RUN_ID and
# LOGROOT.  Needs REPO_ROOT, WORK and a die function.
bench_work_dir() {
	mkdir -p "$WORK"
	WORK=$(cd "$WORK" && pwd -P)
	case "$WORK/" in
	"$(cd "$REPO_ROOT" && pwd -P)/"*) die "--work must be outside the repository ($REPO_ROOT)" ;;
	esac
	[[ $WORK != / ]] || die "--work must not be /"
	exec 9>"$WORK/.lock"
	flock -n 9 || die "another run is using $WORK (lock $WORK/.lock)"
	cd "$WORK"
	RUN_ID=$(date +%Y%m%d-%H%M%S)
	LOGROOT="$WORK/logs/$RUN_ID"
}

# note TEXT: keeps TEXT for the results (NOTES) and says it.  Needs say.
NOTES=()
note() { NOTES+=("$1"); say "note: $1"; }

# stats FILE COLUMN: "median max" of a column of numbers
stats() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f\n", m, v[NR] }'
}

