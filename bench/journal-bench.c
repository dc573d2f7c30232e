/*
 * Journal speed: appends (with a checkpoint every K entries and a commit every B
 * entries) and a full verification, on a fresh store in a scratch directory.
 *
 *	journal-bench DIR append N K B    entries/s and per-append latency (append + commit)
 *	journal-bench DIR verify N        builds N entries, then times a full verification
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal-verify.h"
#include "journal/journal.h"

/* A change event of the size `vigil --json check` produces for a modified file. */
static const char event_fmt[] =
	"{\"event\":{\"@timestamp\":\"2026-11-27T04:23:53.509040Z\",\"event\":{\"id\":"
	"\"01a21b3e-d9a5-7d3f-a3db-%012u\",\"kind\":\"event\",\"module\":\"vigil\",\"dataset\":"
	"\"vigil.check\",\"category\":[\"file\"],\"type\":[\"change\"],\"action\":\"modified\","
	"\"severity\":2},\"host\":{\"name\":\"ca1\"},\"file\":{\"path\":\"/etc/app/conf-%u\","
	"\"name\":\"conf-%u\",\"directory\":\"/etc/app\",\"type\":\"file\",\"mode\":\"0644\","
	"\"uid\":\"0\",\"gid\":\"0\",\"inode\":\"343087\",\"owner\":\"root\",\"group\":\"root\","
	"\"size\":12434,\"mtime\":\"2026-11-27T04:23:53.336085Z\",\"ctime\":"
	"\"2026-11-27T04:23:53.336085Z\",\"hash\":{\"sha256\":"
	"\"9a8cc3f3ca8835446600cf2fd163de514e4be5d5557a3a790dc2a1a1c885920f\"}},\"vigil\":{"
	"\"object\":\"file:/etc/app/conf-%u\",\"change\":\"modified\",\"attributes\":[\"size\","
	"\"mtime\",\"ctime\",\"sha256\"],\"before\":{\"size\":12432,\"mtime\":"
	"\"2023-05-25T15:54:35.000000000Z\",\"ctime\":\"2023-05-25T15:54:35.000000000Z\","
	"\"sha256\":\"b143053a4862ab354831487b5f8bd31dc9ffdc589d15de9d9c764332a0209796\"},"
	"\"after\":{\"size\":12434,\"mtime\":\"2026-11-27T04:23:53.336085236Z\",\"ctime\":"
	"\"2026-11-27T04:23:53.336085236Z\",\"sha256\":"
	"\"9a8cc3f3ca8835446600cf2fd163de514e4be5d5557a3a790dc2a1a1c885920f\"},\"rule\":{"
	"\"file\":\"/etc/vigil/rules.d/10-base.rules\",\"line\":17,\"pattern\":\"/etc/**\","
	"\"severity\":\"medium\",\"tags\":[]},\"run\":{\"id\":"
	"\"01a21b3e-d99d-77a4-80fd-73005a9e9ea3\",\"kind\":\"check\",\"full\":false}}}}";

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int open_journal(const char *dir, struct store **s, struct journal **j)
{
	struct journal_config cfg = { .origin = "bench.example/vigil-journal", .create_key = true };
	struct vg_error err;
	char key[4096];

	mkdir(dir, 0700);
	snprintf(key, sizeof(key), "%s/journal.key", dir);
	cfg.key_path = key;
	if (store_open(dir, STORE_CREATE, s, &err) < 0 || journal_open(*s, &cfg, j, &err) < 0) {
		fprintf(stderr, "journal-bench: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int fill(struct store *s, struct journal *j, unsigned n, unsigned every, unsigned batch,
		int64_t *lat)
{
	char ev[sizeof(event_fmt) + 64];

	for (unsigned i = 0; i < n; i++) {
		int64_t t0 = clock_monotonic_ns();

		snprintf(ev, sizeof(ev), event_fmt, i, i, i, i);
		if (journal_append(j, "change.detected", ev, NULL) < 0)
			return -1;
		if ((i + 1) % batch == 0 && store_tx_commit(s) < 0)
			return -1;
		if (every && (i + 1) % every == 0 &&
		    (journal_checkpoint(j, NULL) < 0 || store_tx_commit(s) < 0))
			return -1;
		if (lat)
			lat[i] = clock_monotonic_ns() - t0;
	}
	return store_tx_commit(s);
}

int main(int argc, char **argv)
{
	struct store *s = NULL;
	struct journal *j = NULL;
	unsigned n;
	int64_t t0, t1;

	if (argc < 4) {
		fprintf(stderr, "usage: journal-bench DIR append N K B | DIR verify N\n");
		return 2;
	}
	hash_global_init();
	n = (unsigned)strtoul(argv[3], NULL, 10);
	if (open_journal(argv[1], &s, &j) < 0)
		return 1;
	if (strcmp(argv[2], "append") == 0 && argc == 6) {
		unsigned every = (unsigned)strtoul(argv[4], NULL, 10);
		unsigned batch = (unsigned)strtoul(argv[5], NULL, 10);
		int64_t *lat = calloc(n, sizeof(*lat));

		t0 = clock_monotonic_ns();
		if (!lat || fill(s, j, n, every, batch ? batch : 1, lat) < 0)
			return 1;
		t1 = clock_monotonic_ns();
		qsort(lat, n, sizeof(*lat), cmp_i64);
		printf("append: %u entries, checkpoint every %u, commit every %u: %.2f s, %.0f entries/s;"
		       " per append+commit median %.1f us, p99 %.1f us, max %.1f us\n",
		       n, every, batch, (double)(t1 - t0) / 1e9, n / ((double)(t1 - t0) / 1e9),
		       (double)lat[n / 2] / 1e3, (double)lat[n * 99 / 100] / 1e3,
		       (double)lat[n - 1] / 1e3);
		free(lat);
	} else if (strcmp(argv[2], "verify") == 0) {
		struct journal_verify_result res;
		int r;

		if (journal_size(j) < n) {
			if (fill(s, j, n - (unsigned)journal_size(j), 100000, 1000, NULL) < 0)
				return 1;
			if (journal_checkpoint(j, NULL) < 0 || store_tx_commit(s) < 0)
				return 1;
		}
		t0 = clock_monotonic_ns();
		r = journal_verify_store(s, journal_verifier(j), &res);
		t1 = clock_monotonic_ns();
		printf("verify: %llu entries, %llu checkpoints: %.2f s (%s)\n",
		       (unsigned long long)res.entries, (unsigned long long)res.checkpoints,
		       (double)(t1 - t0) / 1e9, r == 0 ? "verified" : res.problem);
		if (r < 0)
			return 1;
	} else {
		return 2;
	}
	journal_close(j);
	store_close(s);
	return 0;
}
