/*
 * Appending to the journal and signing checkpoints.  The right edge of the tree (one
 * complete subtree per set bit of the size) is kept in memory, so an append costs one
 * leaf hash, on average one node hash, and a few row inserts.
 */
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal.h"
#include "base/banned.h"

struct journal {
	struct store *store;
	struct signer *signer;
	char origin[NOTE_NAME_MAX];
	struct merkle_builder b;
	json_t *actor;	/* NULL: the system acted */
};

static int load_edge(struct journal *j)
{
	uint64_t n, start = 0;
	int r;

	r = store_journal_size(j->store, &n);
	if (r < 0)
		return r;
	merkle_builder_init(&j->b);
	/* one complete subtree per set bit of n, largest first */
	for (int level = 63; level >= 0; level--) {
		uint64_t width = 1ull << level;

		if (!(n & width))
			continue;
		r = store_journal_hash_get(j->store, (unsigned)level, start >> level,
					   j->b.stack[j->b.depth]);
		if (r < 0)
			return r == -ENOENT ? -EBADMSG : r;
		j->b.levels[j->b.depth++] = (unsigned)level;
		start += width;
	}
	j->b.size = n;
	return 0;
}

int journal_open(struct store *s, const struct journal_config *cfg, struct journal **ret,
		 struct vg_error *err)
{
	struct journal *j;
	struct stat st;
	int r;

	if (!note_name_valid(cfg->origin))
		return vg_error_set(err, -EINVAL, "", 0, 0,
				    "'%s' cannot be a journal origin (no spaces or '+')", cfg->origin);
	if (cfg->create_key && stat(cfg->key_path, &st) < 0 && errno == ENOENT) {
		r = signer_create_file(cfg->key_path, err);
		if (r < 0)
			return r;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->store = s;
	snprintf(j->origin, sizeof(j->origin), "%s", cfg->origin);
	r = signer_load(cfg->key_path, cfg->origin, &j->signer, err);
	if (r == 0) {
		r = load_edge(j);
		if (r < 0)
			vg_error_set(err, r, "", 0, 0, "cannot load the journal's tree: %s",
				     strerror(-r));
	}
	if (r < 0) {
		journal_close(j);
		return r;
	}
	*ret = j;
	return 0;
}

struct journal *journal_close(struct journal *j)
{
	if (!j)
		return NULL;
	signer_free(j->signer);
	json_decref(j->actor);
	free(j);
	return NULL;
}

const struct note_verifier *journal_verifier(const struct journal *j)
{
	return signer_verifier(j->signer);
}

uint64_t journal_size(const struct journal *j)
{
	return j->b.size;
}

void journal_set_actor_from_process(struct journal *j)
{
	char buf[64] = "";
	uid_t uid = getuid();
	FILE *f = fopen("/proc/self/loginuid", "re");
	json_t *a = json_object();
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (!a)
		return;
	json_object_set_new(a, "uid", json_integer(uid));
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		json_object_set_new(a, "user", json_string(res->pw_name));
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			unsigned long long v = strtoull(buf, NULL, 10);

			/* (uid_t)-1: no login session (a service, not a person) */
			if (v != 4294967295ull) {
				json_object_set_new(a, "login_uid", json_integer((json_int_t)v));
				res = NULL;
				if (getpwuid_r((uid_t)v, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
					json_object_set_new(a, "login_user", json_string(res->pw_name));
			}
		}
		fclose(f);
	}
	json_object_set_new(a, "pid", json_integer(getpid()));
	json_decref(j->actor);
	j->actor = a;
}

static int put_hash(void *ud, unsigned level, uint64_t index, const merkle_hash h)
{
	return store_journal_hash_put(ud, level, index, h);
}

static char *canonical(json_t *o)
{
	return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

int journal_append(struct journal *j, const char *type, const char *fields_json,
		   uint64_t *ret_index)
{
	json_error_t jerr;
	json_t *o = json_loads(fields_json ? fields_json : "{}", JSON_REJECT_DUPLICATES, &jerr);
	char t[RFC3339_MAX];
	int64_t now = clock_now_ns();
	uint64_t index = j->b.size;
	merkle_hash leaf;
	char *text = NULL;
	int r;

	if (!o || !json_is_object(o)) {
		json_decref(o);
		return -EINVAL;
	}
	r = time_format_rfc3339(now, t, sizeof(t));
	if (r < 0)
		goto out;
	json_object_set_new(o, "index", json_integer((json_int_t)index));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "type", json_string(type));
	if (j->actor)
		json_object_set(o, "actor", j->actor);
	text = canonical(o);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	if (strlen(text) > JOURNAL_ENTRY_MAX) {
		/* too large for an entry bundle: keep a summary naming the full entry */
		uint8_t h[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];
		json_t *s = json_object();

		sha256_buf(text, strlen(text), h);
		hex_encode(h, sizeof(h), hex);
		json_object_set_new(s, "index", json_integer((json_int_t)index));
		json_object_set_new(s, "time", json_string(t));
		json_object_set_new(s, "type", json_string(type));
		json_object_set_new(s, "truncated", json_true());
		json_object_set_new(s, "full_sha256", json_string(hex));
		json_object_set_new(s, "full_length", json_integer((json_int_t)strlen(text)));
		if (j->actor)
			json_object_set(s, "actor", j->actor);
		free(text);
		text = canonical(s);
		json_decref(s);
		if (!text) {
			r = -ENOMEM;
			goto out;
		}
	}
	merkle_leaf_hash(text, strlen(text), leaf);
	r = store_journal_append(j->store, index, now, type, text, strlen(text));
	if (r == 0) {
		struct merkle_builder saved = j->b;

		r = merkle_builder_add(&j->b, leaf, put_hash, j->store);
		if (r < 0)
			j->b = saved;
	}
	if (r == 0 && ret_index)
		*ret_index = index;
out:
	free(text);
	json_decref(o);
	return r;
}

static int get_hash(void *ud, unsigned level, uint64_t index, merkle_hash out)
{
	return store_journal_hash_get(ud, level, index, out);
}

int journal_root(struct journal *j, uint64_t n, merkle_hash out)
{
	if (n > j->b.size)
		return -ERANGE;
	if (n == j->b.size) {
		merkle_builder_root(&j->b, out);
		return 0;
	}
	return merkle_root(get_hash, j->store, n, out);
}

int journal_prove_inclusion(struct journal *j, uint64_t index, uint64_t n, merkle_hash *proof,
			    size_t *ret_len)
{
	if (n > j->b.size || index >= n)
		return -ERANGE;
	return merkle_prove_inclusion(get_hash, j->store, index, n, proof, ret_len);
}

int journal_prove_consistency(struct journal *j, uint64_t m, uint64_t n, merkle_hash *proof,
			      size_t *ret_len)
{
	if (n > j->b.size || m == 0 || m > n)
		return -ERANGE;
	return merkle_prove_consistency(get_hash, j->store, m, n, proof, ret_len);
}

int journal_sign_note(struct journal *j, const char *text, size_t n, struct buf *out)
{
	return note_sign(j->signer, text, n, out);
}

int journal_checkpoint(struct journal *j, struct buf *out)
{
	struct buf text, note;
	merkle_hash root;
	int r;

	merkle_builder_root(&j->b, root);
	buf_init(&text, 4096);
	buf_init(&note, 8192);
	r = buf_printf(&text, "%s\n%llu\n", j->origin, (unsigned long long)j->b.size);
	if (r == 0)
		r = base64_encode(&text, root, MERKLE_HASH);
	if (r == 0)
		r = buf_putc(&text, '\n');
	if (r == 0)
		r = note_sign(j->signer, text.data, text.len, &note);
	if (r == 0)
		r = store_checkpoint_add(j->store, j->b.size, clock_now_ns(), note.data);
	if (r == 0 && out)
		r = buf_append(out, note.data, note.len);
	buf_release(&text);
	buf_release(&note);
	return r;
}

int journal_checkpoint_if_due(struct journal *j, int64_t interval_ns, bool *ret_issued)
{
	struct store_checkpoint c = { 0 };
	int r = store_checkpoint_latest(j->store, &c);
	bool due;

	if (r < 0)
		return r;
	due = r == 0 || (c.size != j->b.size && clock_now_ns() - c.time_ns >= interval_ns);
	store_checkpoint_release(&c);
	if (ret_issued)
		*ret_issued = due;
	return due ? journal_checkpoint(j, NULL) : 0;
}

struct first_kept {
	int64_t cutoff;
	uint64_t end;	/* first entry that must be kept */
	bool found;
};

static int find_kept(void *ud, const struct store_journal_entry *e)
{
	struct first_kept *f = ud;

	if (e->time_ns >= f->cutoff) {
		f->end = e->index;
		f->found = true;
		return -ECANCELED; /* stop */
	}
	return 0;
}

static int find_purged(void *ud, const struct store_journal_entry *e)
{
	uint64_t *first = ud;

	if (e->data) {
		*first = e->index;
		return -ECANCELED;
	}
	return 0;
}

int journal_purge(struct journal *j, unsigned retention_days, bool dry_run,
		  struct journal_purge_result *res)
{
	struct store_checkpoint c = { 0 };
	struct first_kept f;
	char *max_s = NULL, buf[512], root_b64[64];
	unsigned max_days = retention_days;
	uint64_t from = 0, covered;
	int r;

	memset(res, 0, sizeof(*res));
	/* the largest retention ever applied wins */
	if (store_meta_get(j->store, "journal.retention_days_max", &max_s) == 0) {
		unsigned long v = strtoul(max_s, NULL, 10);

		if (v > max_days)
			max_days = (unsigned)v;
		free(max_s);
	}
	res->retention_days = max_days;
	res->cutoff_ns = clock_now_ns() - (int64_t)max_days * 86400 * 1000000000;
	r = store_checkpoint_latest(j->store, &c);
	if (r < 0)
		return r;
	covered = r == 1 ? c.size : 0;
	store_checkpoint_release(&c);
	f = (struct first_kept){ .cutoff = res->cutoff_ns, .end = covered };
	r = store_journal_each(j->store, 0, covered, find_kept, &f);
	if (r < 0 && r != -ECANCELED)
		return r;
	r = store_journal_each(j->store, 0, f.end, find_purged, &from);
	if (r == 0)
		from = f.end; /* everything before end is already purged */
	else if (r != -ECANCELED)
		return r;
	res->from = from;
	res->to = f.end > from ? f.end : from;
	if (!dry_run) {
		snprintf(buf, sizeof(buf), "%u", max_days);
		r = store_meta_set(j->store, "journal.retention_days_max", buf);
		if (r < 0)
			return r;
	}
	if (dry_run || res->to == res->from)
		return 0;
	{
		merkle_hash root;
		struct buf b64;
		char cut[RFC3339_MAX];

		r = journal_root(j, res->to, root);
		if (r < 0)
			return r;
		buf_init(&b64, 0);
		base64_encode(&b64, root, MERKLE_HASH);
		snprintf(root_b64, sizeof(root_b64), "%s", buf_str(&b64));
		buf_release(&b64);
		time_format_rfc3339(res->cutoff_ns, cut, sizeof(cut));
		r = store_journal_purge(j->store, res->from, res->to, clock_now_ns());
		if (r < 0)
			return r;
		snprintf(buf, sizeof(buf),
			 "{\"purge\":{\"from\":%llu,\"to\":%llu,\"cutoff\":\"%s\","
			 "\"retention_days\":%u,\"root_at_to\":\"%s\"}}",
			 (unsigned long long)res->from, (unsigned long long)res->to, cut, max_days,
			 root_b64);
		return journal_append(j, "journal.purged", buf, NULL);
	}
}

int checkpoint_parse(const char *text, size_t n, char *origin, size_t origin_size,
		     uint64_t *ret_size, merkle_hash ret_root)
{
	const char *l1 = memchr(text, '\n', n), *l2, *l3;
	uint64_t size = 0;
	int hl;

	if (!l1 || (size_t)(l1 - text) >= origin_size || l1 == text)
		return -EBADMSG;
	l2 = memchr(l1 + 1, '\n', n - (size_t)(l1 + 1 - text));
	if (!l2 || l2 == l1 + 1 || (l1[1] == '0' && l2 - l1 > 2))
		return -EBADMSG;
	for (const char *p = l1 + 1; p < l2; p++) {
		if (*p < '0' || *p > '9' || size > (UINT64_MAX - 9) / 10)
			return -EBADMSG;
		size = size * 10 + (uint64_t)(*p - '0');
	}
	l3 = memchr(l2 + 1, '\n', n - (size_t)(l2 + 1 - text));
	if (!l3)
		return -EBADMSG;
	hl = base64_decode(l2 + 1, (size_t)(l3 - l2 - 1), ret_root, MERKLE_HASH);
	if (hl != MERKLE_HASH)
		return -EBADMSG;
	memcpy(origin, text, (size_t)(l1 - text));
	origin[l1 - text] = '\0';
	*ret_size = size;
	return 0;
}
