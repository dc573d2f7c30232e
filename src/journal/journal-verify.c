/*
 * Journal verification.  Entries are streamed once in index order into an incremental
 * Merkle builder (O(log n) memory); the builder's root is compared with each signed
 * checkpoint as the stream reaches its size.  For an export, the same stream is fed
 * from entry bundles and every hash the builder completes is compared with the
 * published tiles.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "base/json-canon.h"
#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal.h"
#include "journal/journal-verify.h"
#include "base/banned.h"

int tile_path(struct buf *out, int level, uint64_t n, unsigned width)
{
	char groups[8][4];
	int ng = 0, r;

	do {
		snprintf(groups[ng++], sizeof(groups[0]), "%03u", (unsigned)(n % 1000));
		n /= 1000;
	} while (n > 0 && ng < 8);
	r = level < 0 ? buf_puts(out, "tile/entries/") : buf_printf(out, "tile/%d/", level);
	for (int i = ng - 1; i >= 0 && r == 0; i--)
		r = buf_printf(out, "%s%s%s", i < ng - 1 ? "/" : "", i > 0 ? "x" : "", groups[i]);
	if (r == 0 && width)
		r = buf_printf(out, ".p/%u", width);
	return r;
}

struct cp {
	int64_t id;
	uint64_t size;
	merkle_hash root;
	char name[64];
};

static int fail(struct journal_verify_result *res, uint64_t index, const char *fmt, ...)
	_printf_(3, 4);

static int fail(struct journal_verify_result *res, uint64_t index, const char *fmt, ...)
{
	va_list ap;

	if (res->problem[0])
		return -EBADMSG; /* keep the first */
	res->bad_index = index;
	va_start(ap, fmt);
	vsnprintf(res->problem, sizeof(res->problem), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int cmp_cp(const void *a, const void *b)
{
	const struct cp *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size ? 1 : (x->id > y->id) - (x->id < y->id);
}

/* Verifies one checkpoint note and appends it to the list. */
static int add_checkpoint(struct cp **list, size_t *n, const char *note, size_t len, int64_t id,
			  const char *name, const struct note_verifier *v,
			  struct journal_verify_result *res)
{
	char origin[NOTE_NAME_MAX];
	struct cp c = { .id = id };
	struct cp *nl;
	int tl = note_open(note, len, v);

	if (tl < 0)
		return fail(res, UINT64_MAX, "checkpoint %s: %s", name,
			    tl == -ENOKEY ? "not signed by the verifier key"
					  : "signature does not verify");
	if (checkpoint_parse(note, (size_t)tl, origin, sizeof(origin), &c.size, c.root) < 0)
		return fail(res, UINT64_MAX, "checkpoint %s: malformed", name);
	if (strcmp(origin, v->name) != 0)
		return fail(res, UINT64_MAX, "checkpoint %s: origin '%s' is not the key's '%s'",
			    name, origin, v->name);
	snprintf(c.name, sizeof(c.name), "%s", name);
	nl = realloc(*list, (*n + 1) * sizeof(**list));
	if (!nl)
		return -ENOMEM;
	*list = nl;
	nl[(*n)++] = c;
	res->checkpoints++;
	return 0;
}

struct stream {
	struct journal_verify_result *res;
	struct merkle_builder b;
	struct cp *cps;
	size_t n_cps, next_cp;
	uint64_t last_good;	/* size of the last checkpoint that matched */
	/* store mode */
	struct store *store;
	/* export mode: the current tile of each level, for comparison */
	const char *dir;
	uint64_t size;
	uint8_t *tiles[8];
	uint64_t tile_n[8];
	bool tile_loaded[8];
};

/* Compares the builder with every checkpoint whose size was just reached. */
static int check_checkpoints(struct stream *st)
{
	while (st->next_cp < st->n_cps && st->cps[st->next_cp].size == st->b.size) {
		struct cp *c = &st->cps[st->next_cp++];
		merkle_hash root;

		merkle_builder_root(&st->b, root);
		if (memcmp(root, c->root, MERKLE_HASH) != 0)
			return fail(st->res, st->last_good,
				    "checkpoint %s (size %llu) does not match the entries: an entry "
				    "from index %llu to %llu was altered, removed or reordered",
				    c->name, (unsigned long long)c->size,
				    (unsigned long long)st->last_good,
				    (unsigned long long)(c->size ? c->size - 1 : 0));
		st->last_good = c->size;
	}
	return 0;
}

static int leaf(struct stream *st, const merkle_hash h, merkle_put_fn put)
{
	int r = merkle_builder_add(&st->b, h, put, st);

	return r < 0 ? r : check_checkpoints(st);
}

/* ---- the store ---- */

struct store_cps {
	struct cp **list;
	size_t *n;
	const struct note_verifier *v;
	struct journal_verify_result *res;
};

static int each_store_cp(void *ud, const struct store_checkpoint *c)
{
	struct store_cps *sc = ud;
	char name[64];

	snprintf(name, sizeof(name), "#%lld", (long long)c->id);
	return add_checkpoint(sc->list, sc->n, c->note, strlen(c->note), c->id, name, sc->v,
			      sc->res);
}

static int each_store_entry(void *ud, const struct store_journal_entry *e)
{
	struct stream *st = ud;
	merkle_hash h, stored;

	if (e->index != st->b.size)
		return fail(st->res, st->b.size, "entry %llu is missing (the next entry is %llu)",
			    (unsigned long long)st->b.size, (unsigned long long)e->index);
	if (!e->has_leaf)
		return fail(st->res, e->index, "entry %llu has no stored hash",
			    (unsigned long long)e->index);
	memcpy(stored, e->leaf, MERKLE_HASH);
	st->res->entries++;
	if (!e->data) {
		st->res->purged++;
		memcpy(h, stored, MERKLE_HASH);
	} else {
		char type[64], when[RFC3339_MAX], col_when[RFC3339_MAX];

		merkle_leaf_hash(e->data, e->len, h);
		if (memcmp(h, stored, MERKLE_HASH) != 0)
			return fail(st->res, e->index,
				    "entry %llu: its bytes do not match the hash recorded when it "
				    "was appended",
				    (unsigned long long)e->index);
		/* the columns listings read must say what the signed bytes say */
		time_format_rfc3339(e->time_ns, col_when, sizeof(col_when));
		if (json_top_string((const char *)e->data, e->len, "type", type, sizeof(type)) < 0 ||
		    strcmp(type, e->type) != 0 ||
		    json_top_string((const char *)e->data, e->len, "time", when, sizeof(when)) < 0 ||
		    strcmp(when, col_when) != 0)
			return fail(st->res, e->index,
				    "entry %llu: its type or time column differs from the entry",
				    (unsigned long long)e->index);
	}
	return leaf(st, h, NULL);
}

static int get_store_hash(void *ud, unsigned level, uint64_t index, merkle_hash out)
{
	return store_journal_hash_get(ud, level, index, out);
}

int journal_verify_store(struct store *s, const struct note_verifier *v,
			 struct journal_verify_result *res)
{
	struct stream st = { .res = res, .store = s };
	struct store_cps sc = { &st.cps, &st.n_cps, v, res };
	uint64_t size;
	int r;

	memset(res, 0, sizeof(*res));
	res->bad_index = UINT64_MAX;
	merkle_builder_init(&st.b);
	r = store_checkpoint_each(s, each_store_cp, &sc);
	if (r < 0)
		goto out;
	/* checkpoints in issue order never shrink */
	for (size_t i = 1; i < st.n_cps; i++)
		if (st.cps[i].size < st.cps[i - 1].size) {
			r = fail(res, UINT64_MAX,
				 "checkpoint %s (size %llu) is smaller than the earlier %s (size %llu)",
				 st.cps[i].name, (unsigned long long)st.cps[i].size,
				 st.cps[i - 1].name, (unsigned long long)st.cps[i - 1].size);
			goto out;
		}
	if (st.n_cps)
		qsort(st.cps, st.n_cps, sizeof(*st.cps), cmp_cp);
	res->size = st.n_cps ? st.cps[st.n_cps - 1].size : 0;
	r = check_checkpoints(&st); /* size 0 */
	if (r == 0)
		r = store_journal_each(s, 0, UINT64_MAX, each_store_entry, &st);
	if (r < 0)
		goto out;
	if (st.next_cp < st.n_cps) {
		r = fail(res, st.b.size,
			 "the journal has %llu entries but checkpoint %s signed %llu: entries "
			 "were removed from the end",
			 (unsigned long long)st.b.size, st.cps[st.next_cp].name,
			 (unsigned long long)st.cps[st.next_cp].size);
		goto out;
	}
	/* the stored tree (used for proofs and tiles) must agree with the entries */
	r = store_journal_size(s, &size);
	if (r == 0 && size > 0) {
		merkle_hash a, b;

		merkle_builder_root(&st.b, a);
		r = merkle_root(get_store_hash, s, size, b);
		if (r == -ENOENT || (r == 0 && memcmp(a, b, MERKLE_HASH) != 0))
			r = fail(res, UINT64_MAX, "the stored tree hashes do not match the entries");
	}
out:
	free(st.cps);
	return r;
}

/* ---- an export directory ---- */

#define EXPORT_FILE_MAX (64u * 1024 * 1024)

static int read_file(const char *dir, const char *rel, char **ret, size_t *ret_len)
{
	return file_read_all(dir, rel, EXPORT_FILE_MAX, ret, ret_len);
}

/* Compares a hash the builder completed with the published tile that holds it. */
static int tile_put(void *ud, unsigned level, uint64_t index, const merkle_hash h)
{
	struct stream *st = ud;
	unsigned L = level / 8;
	uint64_t n = index / 256, full;
	unsigned pos = (unsigned)(index % 256), width;

	if (level % 8 != 0 || L >= 8)
		return 0;
	full = st->size >> (8 * (L + 1));
	width = n < full ? 0 : (unsigned)((st->size >> (8 * L)) % 256);
	if (!st->tile_loaded[L] || st->tile_n[L] != n) {
		struct buf path;
		char *data = NULL;
		size_t len = 0;
		int r;

		buf_init(&path, 4096);
		r = tile_path(&path, (int)L, n, width);
		if (r == 0)
			r = read_file(st->dir, path.data, &data, &len);
		if (r < 0) {
			r = fail(st->res, index << level, "tile %s is missing or unreadable",
				 buf_str(&path));
			buf_release(&path);
			return r;
		}
		if (len != (width ? width : 256) * MERKLE_HASH) {
			r = fail(st->res, index << level, "tile %s has the wrong length",
				 buf_str(&path));
			free(data);
			buf_release(&path);
			return r;
		}
		buf_release(&path);
		free(st->tiles[L]);
		st->tiles[L] = (uint8_t *)data;
		st->tile_n[L] = n;
		st->tile_loaded[L] = true;
	}
	if (memcmp(st->tiles[L] + (size_t)pos * MERKLE_HASH, h, MERKLE_HASH) != 0)
		return fail(st->res, level == 0 ? index : UINT64_MAX,
			    "tile %u/%llu hash %u does not match the entries", L,
			    (unsigned long long)n, pos);
	return 0;
}

static int verify_manifest(const char *dir, const struct note_verifier *v,
			   struct journal_verify_result *res, char **ret_text)
{
	char *note = NULL;
	size_t len;
	int tl, r = read_file(dir, "manifest", &note, &len);

	if (r < 0)
		return fail(res, UINT64_MAX, "no readable manifest in the export");
	tl = note_open(note, len, v);
	if (tl < 0) {
		free(note);
		return fail(res, UINT64_MAX, "manifest: %s",
			    tl == -ENOKEY ? "not signed by the verifier key"
					  : "signature does not verify");
	}
	note[tl] = '\0';
	*ret_text = note;
	return 0;
}

/* Checks every file the manifest lists; returns how many it lists. */
static int check_listed(const char *dir, char *text, struct journal_verify_result *res,
			size_t *ret_n)
{
	char *line = text, *nl;
	size_t n = 0;

	/* first lines: "vigil-journal-export", origin, "size N" */
	for (int i = 0; i < 3 && line; i++) {
		nl = strchr(line, '\n');
		line = nl ? nl + 1 : NULL;
	}
	for (; line && *line; line = nl + 1) {
		char *sp, *data = NULL;
		uint8_t h[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];
		size_t len;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		sp = strchr(line, ' ');
		if (!sp || sp - line != 64)
			return fail(res, UINT64_MAX, "manifest: malformed line '%s'", line);
		if (strstr(sp + 1, "..") || sp[1] == '/')
			return fail(res, UINT64_MAX, "manifest: unsafe path '%s'", sp + 1);
		if (read_file(dir, sp + 1, &data, &len) < 0)
			return fail(res, UINT64_MAX, "'%s' is listed in the manifest but missing",
				    sp + 1);
		sha256_buf(data, len, h);
		free(data);
		hex_encode(h, sizeof(h), hex);
		if (memcmp(hex, line, 64) != 0)
			return fail(res, UINT64_MAX, "'%s' does not match its manifest digest",
				    sp + 1);
		n++;
	}
	*ret_n = n;
	return 0;
}

static int count_files(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && r == 0) {
		char *p;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (lstat(p, &st) < 0)
			r = -errno;
		else if (S_ISDIR(st.st_mode))
			r = count_files(p, n);
		else
			(*n)++;
		free(p);
	}
	closedir(d);
	return r;
}

static int bundle_entries(struct stream *st, const uint8_t *data, size_t len, uint64_t first,
			  unsigned count)
{
	size_t off = 0;

	for (unsigned i = 0; i < count; i++) {
		merkle_hash h;
		size_t el;
		int r;

		if (off + 2 > len)
			return fail(st->res, first + i, "entry bundle ends before entry %llu",
				    (unsigned long long)(first + i));
		el = (size_t)data[off] << 8 | data[off + 1];
		if (off + 2 + el > len)
			return fail(st->res, first + i, "entry %llu runs past its bundle",
				    (unsigned long long)(first + i));
		merkle_leaf_hash(data + off + 2, el, h);
		off += 2 + el;
		st->res->entries++;
		r = leaf(st, h, tile_put);
		if (r < 0) {
			if (st->res->bad_index == UINT64_MAX || st->res->bad_index == first + i)
				st->res->bad_index = first + i;
			return r;
		}
	}
	if (off != len)
		return fail(st->res, first + count, "entry bundle has bytes after its last entry");
	return 0;
}

int journal_verify_export(const char *dir, const struct note_verifier *v,
			  struct journal_verify_result *res)
{
	struct stream st = { .res = res, .dir = dir };
	char *manifest = NULL, *note = NULL;
	size_t listed = 0, present = 0, len;
	_cleanup_free_ char *cpdir = NULL;
	DIR *d;
	int r;

	memset(res, 0, sizeof(*res));
	res->bad_index = UINT64_MAX;
	merkle_builder_init(&st.b);
	r = verify_manifest(dir, v, res, &manifest);
	if (r == 0)
		r = check_listed(dir, manifest, res, &listed);
	if (r == 0)
		r = count_files(dir, &present);
	if (r == 0 && present != listed + 1)
		r = fail(res, UINT64_MAX, "the export holds %zu files the manifest does not list",
			 present - listed - 1);
	if (r < 0)
		goto out;
	/* the checkpoint the export is cut at, then every other checkpoint it carries */
	r = read_file(dir, "checkpoint", &note, &len);
	if (r < 0) {
		r = fail(res, UINT64_MAX, "no checkpoint in the export");
		goto out;
	}
	r = add_checkpoint(&st.cps, &st.n_cps, note, len, 0, "checkpoint", v, res);
	free(note);
	if (r < 0)
		goto out;
	st.size = res->size = st.cps[0].size;
	if (asprintf(&cpdir, "%s/checkpoints", dir) < 0) {
		r = -ENOMEM;
		goto out;
	}
	d = opendir(cpdir);
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)) && r == 0) {
			char rel[300];

			if (de->d_name[0] == '.')
				continue;
			snprintf(rel, sizeof(rel), "checkpoints/%s", de->d_name);
			r = read_file(dir, rel, &note, &len);
			if (r == 0) {
				r = add_checkpoint(&st.cps, &st.n_cps, note, len, 1, rel, v, res);
				free(note);
			}
			if (r == 0 && st.cps[st.n_cps - 1].size > st.size)
				r = fail(res, UINT64_MAX, "%s is beyond the exported checkpoint", rel);
		}
		closedir(d);
	}
	if (r < 0)
		goto out;
	qsort(st.cps, st.n_cps, sizeof(*st.cps), cmp_cp);
	r = check_checkpoints(&st);
	/* entry bundles in order: full ones, then the partial one */
	for (uint64_t n = 0; r == 0 && n * 256 < st.size; n++) {
		unsigned count = st.size - n * 256 >= 256 ? 256 : (unsigned)(st.size - n * 256);
		struct buf path;
		char *data = NULL;

		buf_init(&path, 4096);
		r = tile_path(&path, -1, n, count == 256 ? 0 : count);
		if (r == 0 && read_file(dir, path.data, &data, &len) < 0)
			r = fail(res, n * 256, "entry bundle %s is missing", buf_str(&path));
		if (r == 0)
			r = bundle_entries(&st, (uint8_t *)data, len, n * 256, count);
		free(data);
		buf_release(&path);
	}
	if (r == 0 && st.next_cp < st.n_cps)
		r = fail(res, st.b.size, "the export ends before checkpoint %s",
			 st.cps[st.next_cp].name);
out:
	for (int i = 0; i < 8; i++)
		free(st.tiles[i]);
	free(st.cps);
	free(manifest);
	return r;
}
