/*
 * Writing an export: tiles straight from the stored hashes, entry bundles from the
 * entries, the checkpoints of the period, the verifier key, and a manifest signed last.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "crypto/hash.h"
#include "journal/journal-export.h"
#include "journal/journal-verify.h"
#include "base/banned.h"

struct manifest_line {
	char *path;
	char hex[2 * SHA256_LEN + 1];
};

struct exporter {
	const char *dir;
	struct manifest_line *lines;
	size_t n;
	struct vg_error *err;
};

static int emit(struct exporter *x, const char *rel, const void *data, size_t n)
{
	struct manifest_line *nl;
	uint8_t h[SHA256_LEN];
	int r = file_write_all(x->dir, rel, data, n, 0644);

	if (r < 0)
		return vg_error_set(x->err, r, x->dir, 0, 0, "cannot write '%s': %s", rel,
				    strerror(-r));
	nl = realloc(x->lines, (x->n + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	x->lines = nl;
	nl[x->n].path = strdup(rel);
	if (!nl[x->n].path)
		return -ENOMEM;
	sha256_buf(data, n, h);
	hex_encode(h, sizeof(h), nl[x->n].hex);
	x->n++;
	return 0;
}

static int write_tiles(struct exporter *x, struct store *s, uint64_t size)
{
	uint8_t *hashes = malloc(256 * MERKLE_HASH);
	int r = 0;

	if (!hashes)
		return -ENOMEM;
	for (unsigned L = 0; r == 0 && L < 8; L++) {
		uint64_t count = size >> (8 * L); /* hashes at this tile level */

		if (count == 0)
			break;
		for (uint64_t n = 0; r == 0 && n * 256 < count; n++) {
			unsigned width = count - n * 256 >= 256 ? 256 : (unsigned)(count - n * 256);
			struct buf path;

			r = store_journal_hash_range(s, 8 * L, n * 256, width, hashes);
			if (r < 0) {
				r = vg_error_set(x->err, r, "", 0, 0,
						 "stored hashes for tile %u/%llu are missing", L,
						 (unsigned long long)n);
				break;
			}
			buf_init(&path, 4096);
			r = tile_path(&path, (int)L, n, width == 256 ? 0 : width);
			if (r == 0)
				r = emit(x, path.data, hashes, (size_t)width * MERKLE_HASH);
			buf_release(&path);
		}
	}
	free(hashes);
	return r;
}

struct bundler {
	struct exporter *x;
	struct buf data;
	uint64_t size, next;
	int err;
};

static int flush_bundle(struct bundler *b, uint64_t n, unsigned count)
{
	struct buf path;
	int r;

	buf_init(&path, 4096);
	r = tile_path(&path, -1, n, count == 256 ? 0 : count);
	if (r == 0)
		r = emit(b->x, path.data, b->data.data ? b->data.data : "", b->data.len);
	buf_release(&path);
	buf_reset(&b->data);
	return r;
}

static int each_entry(void *ud, const struct store_journal_entry *e)
{
	struct bundler *b = ud;
	uint8_t len[2];
	int r;

	if (e->index != b->next)
		return vg_error_set(b->x->err, -EBADMSG, "", 0, 0, "journal entry %llu is missing",
				    (unsigned long long)b->next);
	if (!e->data)
		return vg_error_set(b->x->err, -ENODATA, "", 0, 0,
				    "journal entry %llu was purged; export from a later start is "
				    "not supported",
				    (unsigned long long)e->index);
	if (e->len > 0xffff)
		return -E2BIG;
	len[0] = (uint8_t)(e->len >> 8);
	len[1] = (uint8_t)e->len;
	r = buf_append(&b->data, len, 2);
	if (r == 0)
		r = buf_append(&b->data, e->data, e->len);
	if (r < 0)
		return r;
	b->next++;
	if (b->next % 256 == 0)
		return flush_bundle(b, b->next / 256 - 1, 256);
	return 0;
}

struct cp_pick {
	int64_t from, to;
	struct store_checkpoint best;
	bool have;
	struct exporter *x;
	int64_t cut_id;		/* > 0: cut at this checkpoint */
	uint64_t included;
	int64_t *ids;
	size_t n_ids;
};

static int pick_cp(void *ud, const struct store_checkpoint *c)
{
	struct cp_pick *p = ud;

	if (p->cut_id > 0 ? c->id != p->cut_id : c->time_ns > p->to)
		return 0;
	if (!p->have || c->id > p->best.id) {
		store_checkpoint_release(&p->best);
		p->best = *c;
		p->best.note = strdup(c->note);
		if (!p->best.note)
			return -ENOMEM;
		p->have = true;
	}
	return 0;
}

static int include_cp(void *ud, const struct store_checkpoint *c)
{
	struct cp_pick *p = ud;
	char rel[64];

	if (c->time_ns < p->from || c->time_ns > p->to || c->size > p->best.size)
		return 0;
	snprintf(rel, sizeof(rel), "checkpoints/%lld", (long long)c->id);
	p->included++;
	return emit(p->x, rel, c->note, strlen(c->note));
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct manifest_line *)a)->path,
		      ((const struct manifest_line *)b)->path);
}

static bool dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	return empty;
}

int journal_export(struct journal *j, struct store *s, const char *dir, int64_t from_ns,
		   int64_t to_ns, struct journal_export_result *ret, struct vg_error *err)
{
	return journal_export_at(j, s, dir, from_ns, to_ns, 0, ret, err);
}

int journal_export_at(struct journal *j, struct store *s, const char *dir, int64_t from_ns,
		      int64_t to_ns, int64_t cut_id, struct journal_export_result *ret,
		      struct vg_error *err)
{
	struct exporter x = { .dir = dir, .err = err };
	struct cp_pick pick = { .from = from_ns, .to = to_ns, .x = &x, .cut_id = cut_id };
	struct bundler b = { .x = &x };
	struct buf text, note, key;
	int r;

	buf_init(&text, SIZE_MAX / 2);
	buf_init(&note, SIZE_MAX / 2);
	buf_init(&key, 4096);
	buf_init(&b.data, 64u * 1024 * 1024);
	if (!dir_empty(dir)) {
		r = vg_error_set(err, -EEXIST, dir, 0, 0, "the export directory is not empty");
		goto out;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		r = vg_error_set(err, neg_errno(), dir, 0, 0, "cannot create: %s", strerror(errno));
		goto out;
	}
	r = store_checkpoint_each(s, pick_cp, &pick);
	if (r == 0 && !pick.have)
		r = vg_error_set(err, -ENODATA, "", 0, 0,
				 "no checkpoint was issued by then (run 'vigil journal checkpoint')");
	if (r < 0)
		goto out;
	b.size = pick.best.size;
	r = emit(&x, "checkpoint", pick.best.note, strlen(pick.best.note));
	if (r == 0)
		r = store_checkpoint_each(s, include_cp, &pick);
	if (r == 0)
		r = write_tiles(&x, s, b.size);
	if (r == 0)
		r = store_journal_each(s, 0, b.size, each_entry, &b);
	if (r == 0 && b.next != b.size)
		r = vg_error_set(err, -EBADMSG, "", 0, 0, "the journal ends before its checkpoint");
	if (r == 0 && b.size % 256)
		r = flush_bundle(&b, b.size / 256, (unsigned)(b.size % 256));
	if (r == 0)
		r = note_verifier_format(journal_verifier(j), &key);
	if (r == 0)
		r = buf_putc(&key, '\n');
	if (r == 0)
		r = emit(&x, "verifier-key", key.data, key.len);
	if (r < 0)
		goto out;
	/* the manifest lists everything else, sorted, and is signed */
	qsort(x.lines, x.n, sizeof(*x.lines), cmp_line);
	r = buf_printf(&text, "vigil-journal-export\n%s\nsize %llu\n",
		       journal_verifier(j)->name, (unsigned long long)b.size);
	for (size_t i = 0; r == 0 && i < x.n; i++)
		r = buf_printf(&text, "%s %s\n", x.lines[i].hex, x.lines[i].path);
	if (r == 0)
		r = journal_sign_note(j, text.data, text.len, &note);
	if (r == 0)
		r = file_write_all(dir, "manifest", note.data, note.len, 0644);
	if (r == 0 && ret) {
		ret->size = b.size;
		ret->checkpoints = pick.included;
		ret->files = x.n + 1;
	}
out:
	for (size_t i = 0; i < x.n; i++)
		free(x.lines[i].path);
	free(x.lines);
	store_checkpoint_release(&pick.best);
	buf_release(&text);
	buf_release(&note);
	buf_release(&key);
	buf_release(&b.data);
	return r;
}
