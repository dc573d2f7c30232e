/*
 * Appending to the journal and signing checkpoints.  The right edge of the tree (one
 * complete subtree per set bit of the size) is kept in memory, so an append costs one
 * leaf hash, on average one node hash, and a few row inserts.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/json-canon.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal.h"
#include "base/banned.h"

struct journal {
	struct store *store;
	struct signer *signer;	/* NULL when read-only */
	struct note_verifier v;
	char origin[NOTE_NAME_MAX];
	struct merkle_builder b;
	int broken;	/* why the tree could not be loaded (0: it could); no appends then */
	char *actor;	/* a JSON object, or NULL: the system acted */
	struct buf text, canon;	/* reused for every append */
	uint64_t tx_serial;	/* the store transaction the tree edge was last known in */
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
	buf_init(&j->text, 64u * 1024 * 1024);
	buf_init(&j->canon, 64u * 1024 * 1024);
	snprintf(j->origin, sizeof(j->origin), "%s", cfg->origin);
	if (cfg->read_only) {
		char *vk = NULL;

		r = store_meta_get(s, "journal.verifier_key", &vk);
		if (r == 0 && note_verifier_parse(vk, strlen(vk), &j->v) < 0)
			r = -EBADMSG;
		free(vk);
		if (r < 0)
			vg_error_set(err, r, "", 0, 0, "the store records no journal verifier key%s",
				     r == -ENOENT ? " (run 'vigil init')" : "");
	} else {
		r = signer_load(cfg->key_path, cfg->origin, &j->signer, err);
		if (r == 0) {
			struct buf vk;

			/* recorded so that reading commands need no private key */
			j->v = *signer_verifier(j->signer);
			buf_init(&vk, 4096);
			r = note_verifier_format(&j->v, &vk);
			if (r == 0)
				r = store_meta_set(s, "journal.verifier_key", vk.data);
			buf_release(&vk);
		}
	}
	if (r == 0 && load_edge(j) == -EBADMSG) {
		/* rows were added or removed behind Vigil's back: open anyway, so that
		 * verification can say what is wrong, but take no new entries */
		j->broken = -EBADMSG;
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
	free(j->actor);
	buf_release(&j->text);
	buf_release(&j->canon);
	free(j);
	return NULL;
}

const struct note_verifier *journal_verifier(const struct journal *j)
{
	return &j->v;
}

uint64_t journal_size(const struct journal *j)
{
	return j->b.size;
}

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;

	if (getpwuid_r(uid, &pw, buf, size, &res) == 0 && res)
		return res->pw_name;
	return NULL;
}

void journal_set_actor_from_process(struct journal *j)
{
	char line[64] = "", pwbuf[4096];
	uid_t uid = getuid();
	FILE *f = fopen("/proc/self/loginuid", "re");
	struct buf a;
	struct json_writer w;
	const char *name;

	buf_init(&a, 8192);
	jw_init(&w, &a);
	jw_obj_open(&w);
	jw_key(&w, "uid");
	jw_u64(&w, uid);
	name = user_name(uid, pwbuf, sizeof(pwbuf));
	if (name) {
		jw_key(&w, "user");
		jw_str_bytes(&w, name, strlen(name));
	}
	if (f) {
		if (fgets(line, sizeof(line), f)) {
			unsigned long long v = strtoull(line, NULL, 10);

			/* (uid_t)-1: no login session (a service, not a person) */
			if (v != 4294967295ull) {
				jw_key(&w, "login_uid");
				jw_u64(&w, v);
				name = user_name((uid_t)v, pwbuf, sizeof(pwbuf));
				if (name) {
					jw_key(&w, "login_user");
					jw_str_bytes(&w, name, strlen(name));
				}
			}
		}
		fclose(f);
	}
	jw_key(&w, "pid");
	jw_u64(&w, (uint64_t)getpid());
	jw_obj_close(&w);
	free(j->actor);
	j->actor = NULL;
	if (w.err == 0)
		buf_detach(&a, &j->actor, NULL);
	buf_release(&a);
}

static int put_hash(void *ud, unsigned level, uint64_t index, const merkle_hash h)
{
	return store_journal_hash_put(ud, level, index, h);
}

/*
 * The entry: fields plus index, time, type and actor, in canonical form, into j->canon.
 * summary: replace fields by the note that the full entry was too large.
 */
static int compose(struct journal *j, const char *type, const char *fields, uint64_t index,
		   const char *when, bool summary, const char *full_hex, size_t full_len)
{
	size_t n = strlen(fields);
	int r;

	while (n && (fields[n - 1] == ' ' || fields[n - 1] == '\n'))
		n--;
	while (n && (*fields == ' ' || *fields == '\n')) {
		fields++;
		n--;
	}
	if (n < 2 || fields[0] != '{' || fields[n - 1] != '}')
		return -EINVAL;
	buf_reset(&j->text);
	buf_reset(&j->canon);
	if (summary) {
		r = buf_printf(&j->text, "{\"truncated\":true,\"full_sha256\":\"%s\","
					 "\"full_length\":%zu,",
			       full_hex, full_len);
	} else {
		bool empty = true;

		for (size_t i = 1; i + 1 < n; i++)
			if (fields[i] != ' ' && fields[i] != '\n' && fields[i] != '\t')
				empty = false;
		r = buf_append(&j->text, fields, n - 1);
		if (r == 0 && !empty)
			r = buf_putc(&j->text, ',');
	}
	if (r == 0)
		r = buf_printf(&j->text, "\"index\":%llu,\"time\":\"%s\",\"type\":",
			       (unsigned long long)index, when);
	if (r == 0) {
		struct json_writer w;

		jw_init(&w, &j->text);
		jw_str_bytes(&w, type, strlen(type));
		r = w.err;
	}
	if (r == 0 && j->actor)
		r = buf_printf(&j->text, ",\"actor\":%s", j->actor);
	if (r == 0)
		r = buf_putc(&j->text, '}');
	if (r == 0)
		r = json_canonicalize(j->text.data, j->text.len, &j->canon);
	return r;
}

/*
 * Another process (vigil check beside the daemon) may have appended since our last
 * transaction: inside a new one, which holds the write lock, the edge is looked at again.
 */
static int refresh_edge(struct journal *j)
{
	uint64_t n;
	int r = store_tx_begin(j->store);

	if (r < 0 || store_tx_serial(j->store) == j->tx_serial)
		return r;
	r = store_journal_size(j->store, &n);
	if (r == 0 && n != j->b.size)
		r = load_edge(j);
	if (r == 0)
		j->tx_serial = store_tx_serial(j->store);
	return r;
}

int journal_append(struct journal *j, const char *type, const char *fields_json,
		   uint64_t *ret_index)
{
	char t[RFC3339_MAX];
	int64_t now = clock_now_ns();
	uint64_t index = j->b.size;
	merkle_hash leaf;
	int r;

	if (!j->signer)
		return -EPERM; /* a reader does not write */
	if (j->broken)
		return j->broken;
	r = refresh_edge(j);
	if (r < 0)
		return r;
	index = j->b.size;
	r = time_format_rfc3339(now, t, sizeof(t));
	if (r == 0)
		r = compose(j, type, fields_json ? fields_json : "{}", index, t, false, NULL, 0);
	if (r == 0 && j->canon.len > JOURNAL_ENTRY_MAX) {
		/* too large for an entry bundle: keep a summary naming the full entry */
		uint8_t h[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];
		size_t full = j->canon.len;

		sha256_buf(j->canon.data, j->canon.len, h);
		hex_encode(h, sizeof(h), hex);
		r = compose(j, type, "{}", index, t, true, hex, full);
	}
	if (r < 0)
		return r;
	merkle_leaf_hash(j->canon.data, j->canon.len, leaf);
	r = store_journal_append(j->store, index, now, type, j->canon.data, j->canon.len);
	if (r == 0) {
		struct merkle_builder saved = j->b;

		r = merkle_builder_add(&j->b, leaf, put_hash, j->store);
		if (r < 0)
			j->b = saved;
	}
	if (r == 0 && ret_index)
		*ret_index = index;
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
	return j->signer ? note_sign(j->signer, text, n, out) : -EPERM;
}

int journal_checkpoint(struct journal *j, struct buf *out)
{
	struct buf text, note;
	merkle_hash root;
	int r;

	if (j->signer) {
		r = refresh_edge(j);
		if (r < 0)
			return r;
	}
	merkle_builder_root(&j->b, root);
	buf_init(&text, 4096);
	buf_init(&note, 8192);
	r = buf_printf(&text, "%s\n%llu\n", j->origin, (unsigned long long)j->b.size);
	if (r == 0)
		r = base64_encode(&text, root, MERKLE_HASH);
	if (r == 0)
		r = buf_putc(&text, '\n');
	if (r == 0)
		r = journal_sign_note(j, text.data, text.len, &note);
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
	int r = j->signer ? refresh_edge(j) : 0;
	bool due;

	if (r == 0)
		r = store_checkpoint_latest(j->store, &c);
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
