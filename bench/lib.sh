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
