/*
 * vigil journal: read, prove, checkpoint, verify, export and purge the journal.  tail,
 * key, prove and consistency only read (no private key needed); checkpoint, verify,
 * export and purge sign or journal what they did.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base64.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "journal/journal-export.h"
#include "journal/journal-verify.h"
#include "base/banned.h"

/* Settings (no rules: nothing is walked), the store, and the journal. */
static int open_all(struct cli *c, enum journal_access access)
{
	int status = cli_load_settings(c);

	if (status == EXIT_OK)
		status = cli_open_store(c, false);
	if (status == EXIT_OK)
		status = cli_open_journal(c, access);
	return status;
}

static void print_b64(const uint8_t *h, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (base64_encode(&b, h, n) == 0)
		fputs(buf_str(&b), stdout);
	buf_release(&b);
}

/* ---- tail ---- */

struct tail_ctx {
	struct cli *c;
};

static int print_entry(void *ud, const struct store_journal_entry *e)
{
	struct tail_ctx *t = ud;
	char when[RFC3339_MAX];

	if (t->c->json) {
		if (e->data)
			printf("%.*s\n", (int)e->len, (const char *)e->data);
		else
			printf("{\"index\":%" PRIu64 ",\"purged\":true,\"type\":\"%s\"}\n", e->index,
			       e->type);
	} else {
		time_format_rfc3339(e->time_ns, when, sizeof(when));
		printf("%8" PRIu64 "  %s  %-16s %s\n", e->index, when, e->type,
		       e->data ? "" : "(body purged)");
	}
	return ferror(stdout) ? -EIO : 0;
}

static int cmd_tail(struct cli *c)
{
	struct tail_ctx t = { c };
	uint64_t size, from;
	long n = c->lines >= 0 ? c->lines : 10;
	int r;

	r = store_journal_size(c->store, &size);
	from = (uint64_t)n >= size ? 0 : size - (uint64_t)n;
	if (r == 0)
		r = store_journal_each(c->store, from, size, print_entry, &t);
	fflush(stdout);
	while (r == 0 && c->follow) {
		uint64_t now;

		poll(NULL, 0, 500);
		r = store_journal_size(c->store, &now);
		if (r == 0 && now > size) {
			r = store_journal_each(c->store, size, now, print_entry, &t);
			size = now;
			fflush(stdout);
		}
	}
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read the journal: %s", strerror(-r));
	return EXIT_OK;
}

/* ---- proofs ---- */

static int print_proof_json(const char *kind, uint64_t a, uint64_t b, const merkle_hash x,
			    const merkle_hash y, const merkle_hash *proof, size_t len)
{
	struct buf out, h;
	struct json_writer w;
	bool incl = strcmp(kind, "inclusion") == 0;

	buf_init(&out, 0);
	buf_init(&h, 0);
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, incl ? "index" : "old_size");
	jw_u64(&w, a);
	jw_key(&w, incl ? "size" : "new_size");
	jw_u64(&w, b);
	jw_key(&w, incl ? "leaf_hash" : "old_root");
	base64_encode(&h, x, MERKLE_HASH);
	jw_str(&w, buf_str(&h));
	buf_reset(&h);
	jw_key(&w, incl ? "root" : "new_root");
	base64_encode(&h, y, MERKLE_HASH);
	jw_str(&w, buf_str(&h));
	jw_key(&w, "proof");
	jw_arr_open(&w);
	for (size_t i = 0; i < len; i++) {
		buf_reset(&h);
		base64_encode(&h, proof[i], MERKLE_HASH);
		jw_str(&w, buf_str(&h));
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	puts(buf_str(&out));
	buf_release(&out);
	buf_release(&h);
	return EXIT_OK;
}

/* "A a\nB b\nX x\nY y\n" then one proof hash a line, base64. */
static int print_proof_text(const char *la, const char *lb, const char *lx, const char *ly,
			    uint64_t a, uint64_t b, const merkle_hash x, const merkle_hash y,
			    const merkle_hash *proof, size_t len)
{
	printf("%s %" PRIu64 "\n%s %" PRIu64 "\n%s ", la, a, lb, b, lx);
	print_b64(x, MERKLE_HASH);
	printf("\n%s ", ly);
	print_b64(y, MERKLE_HASH);
	putchar('\n');
	for (size_t i = 0; i < len; i++) {
		print_b64(proof[i], MERKLE_HASH);
		putchar('\n');
	}
	return EXIT_OK;
}

static int cmd_prove(struct cli *c)
{
	merkle_hash proof[MERKLE_MAX_PROOF], leaf, root;
	uint64_t size = journal_size(c->journal), n;
	size_t len;
	int r;

	if (c->index < 0)
		return log_error(EXIT_USAGE, "'journal prove' needs --index N");
	n = c->size >= 0 ? (uint64_t)c->size : size;
	if ((uint64_t)c->index >= n || n > size)
		return log_error(EXIT_USAGE, "no entry %lld in a tree of size %llu (the journal has %llu)",
				 c->index, (unsigned long long)n, (unsigned long long)size);
	r = store_journal_hash_get(c->store, 0, (uint64_t)c->index, leaf);
	if (r == 0)
		r = journal_prove_inclusion(c->journal, (uint64_t)c->index, n, proof, &len);
	if (r == 0)
		r = journal_root(c->journal, n, root);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot build the proof: %s", strerror(-r));
	if (c->json)
		return print_proof_json("inclusion", (uint64_t)c->index, n, leaf, root, proof, len);
	return print_proof_text("index", "size", "leaf", "root", (uint64_t)c->index, n, leaf, root,
				proof, len);
}

static int cmd_consistency(struct cli *c)
{
	merkle_hash proof[MERKLE_MAX_PROOF], r1, r2;
	uint64_t size = journal_size(c->journal), n;
	size_t len;
	int r;

	if (c->old_size < 1)
		return log_error(EXIT_USAGE, "'journal consistency' needs --old S (at least 1)");
	n = c->new_size >= 0 ? (uint64_t)c->new_size : size;
	if ((uint64_t)c->old_size > n || n > size)
		return log_error(EXIT_USAGE, "sizes must satisfy 1 <= old <= new <= %llu",
				 (unsigned long long)size);
	r = journal_prove_consistency(c->journal, (uint64_t)c->old_size, n, proof, &len);
	if (r == 0)
		r = journal_root(c->journal, (uint64_t)c->old_size, r1);
	if (r == 0)
		r = journal_root(c->journal, n, r2);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot build the proof: %s", strerror(-r));
	if (c->json)
		return print_proof_json("consistency", (uint64_t)c->old_size, n, r1, r2, proof, len);
	return print_proof_text("old", "new", "old root", "new root", (uint64_t)c->old_size, n, r1,
				r2, proof, len);
}

/* ---- verify ---- */

static int load_key(const char *path, struct note_verifier *v)
{
	char *text = NULL;
	size_t len;
	int r = file_read_all(path, NULL, 4096, &text, &len);

	if (r < 0)
		return log_error(EXIT_USAGE, "cannot read the verifier key '%s': %s", path,
				 strerror(-r));
	r = note_verifier_parse(text, len, v);
	free(text);
	if (r < 0)
		return log_error(EXIT_USAGE, "'%s' is not a signed-note verifier key", path);
	return EXIT_OK;
}

static int report_verify(struct cli *c, int r, const struct journal_verify_result *res,
			 const char *what)
{
	if (r < 0 && r != -EBADMSG)
		return log_error(EXIT_STORE, "cannot verify %s: %s", what, strerror(-r));
	if (c->json) {
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "verified");
		jw_bool(&w, r == 0);
		jw_key(&w, "entries");
		jw_u64(&w, res->entries);
		jw_key(&w, "purged");
		jw_u64(&w, res->purged);
		jw_key(&w, "checkpoints");
		jw_u64(&w, res->checkpoints);
		jw_key(&w, "size");
		jw_u64(&w, res->size);
		if (r < 0) {
			jw_key(&w, "first_bad_entry");
			if (res->bad_index == UINT64_MAX)
				jw_null(&w);
			else
				jw_u64(&w, res->bad_index);
			jw_key(&w, "problem");
			jw_str_bytes(&w, res->problem, strlen(res->problem));
		}
		jw_obj_close(&w);
		puts(buf_str(&b));
		buf_release(&b);
	} else if (r == 0) {
		printf("%s verified: %" PRIu64 " entries (%" PRIu64 " purged), %" PRIu64
		       " checkpoints, latest size %" PRIu64 "\n",
		       what, res->entries, res->purged, res->checkpoints, res->size);
	}
	if (r < 0) {
		log_error(0, "%s FAILED verification: %s", what, res->problem);
		return EXIT_TAMPERED;
	}
	return EXIT_OK;
}

static int cmd_verify(struct cli *c)
{
	struct journal_verify_result res;
	struct note_verifier v;
	int status, r;

	if (c->from_export) {
		/* no store, no settings: only the export and a key */
		_cleanup_free_ char *kp = NULL;

		if (!c->key_file && asprintf(&kp, "%s/verifier-key", c->from_export) < 0)
			return EXIT_FAILURE_;
		status = load_key(c->key_file ? c->key_file : kp, &v);
		if (status != EXIT_OK)
			return status;
		if (!c->key_file)
			log_info("verifying against the key shipped in the export; pin it with --key FILE");
		r = journal_verify_export(c->from_export, &v, &res);
		return report_verify(c, r, &res, "export");
	}
	status = open_all(c, JOURNAL_WRITE);
	if (status != EXIT_OK)
		return status;
	if (c->key_file) {
		status = load_key(c->key_file, &v);
		if (status != EXIT_OK)
			return status;
	} else {
		v = *journal_verifier(c->journal);
	}
	r = journal_verify_store(c->store, &v, &res);
	status = report_verify(c, r, &res, "journal");
	if (r == 0 || r == -EBADMSG) {
		/* the verification itself is journaled */
		struct buf b;
		struct json_writer w;
		int q;

		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "verified");
		jw_bool(&w, r == 0);
		jw_key(&w, "entries");
		jw_u64(&w, res.entries);
		jw_key(&w, "checkpoints");
		jw_u64(&w, res.checkpoints);
		if (r < 0) {
			jw_key(&w, "problem");
			jw_str_bytes(&w, res.problem, strlen(res.problem));
		}
		jw_obj_close(&w);
		q = journal_append(c->journal, "journal.verified", b.data, NULL);
		if (q == 0)
			q = store_tx_commit(c->store);
		buf_release(&b);
		if (q < 0) {
			/* a journal that failed verification may not take new entries; the
			 * verdict stands either way */
			store_tx_rollback(c->store);
			log_warning("the verification could not be journaled: %s", strerror(-q));
			if (status == EXIT_OK)
				status = EXIT_STORE;
		}
	}
	return status;
}

/* ---- checkpoint, key, export ---- */

static int cmd_checkpoint(struct cli *c)
{
	struct buf note;
	int r;

	buf_init(&note, 0);
	r = journal_checkpoint(c->journal, &note);
	if (r == 0)
		r = store_tx_commit(c->store);
	if (r < 0) {
		buf_release(&note);
		return log_error(EXIT_STORE, "cannot issue a checkpoint: %s", strerror(-r));
	}
	fputs(buf_str(&note), stdout);
	buf_release(&note);
	return EXIT_OK;
}

static int cmd_key(struct cli *c)
{
	struct buf k;

	buf_init(&k, 0);
	note_verifier_format(journal_verifier(c->journal), &k);
	puts(buf_str(&k));
	buf_release(&k);
	return EXIT_OK;
}

static int cmd_export(struct cli *c, const char *dir)
{
	struct journal_export_result res;
	struct vg_error err;
	int64_t from = INT64_MIN, to = INT64_MAX;
	char msg[2048];
	struct buf b;
	int r;

	if ((c->from && time_parse_rfc3339(c->from, &from) < 0) ||
	    (c->to && time_parse_rfc3339(c->to, &to) < 0))
		return log_error(EXIT_USAGE, "--from and --to take RFC 3339 times, e.g. 2026-11-01T00:00:00Z");
	vg_error_clear(&err);
	r = journal_export(c->journal, c->store, dir, from, to, &res, &err);
	if (r < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		return log_error(EXIT_FAILURE_, "export failed: %s", msg[0] ? msg : strerror(-r));
	}
	buf_init(&b, 0);
	r = buf_printf(&b, "{\"export\":{\"size\":%" PRIu64 ",\"checkpoints\":%" PRIu64
			   ",\"files\":%" PRIu64 "}}",
		       res.size, res.checkpoints, res.files);
	if (r == 0)
		r = journal_append(c->journal, "journal.exported", b.data, NULL);
	if (r == 0)
		r = store_tx_commit(c->store);
	buf_release(&b);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot journal the export: %s", strerror(-r));
	if (c->verbosity >= 0)
		printf("exported %" PRIu64 " entries, %" PRIu64 " checkpoints (%" PRIu64
		       " files) to %s\n",
		       res.size, res.checkpoints, res.files, dir);
	return EXIT_OK;
}

static int cmd_purge(struct cli *c)
{
	struct journal_purge_result res;
	char cut[RFC3339_MAX];
	int r = journal_purge(c->journal, c->settings.retention_days, c->dry_run, &res);

	if (r == 0)
		r = store_tx_commit(c->store);
	if (r < 0)
		return log_error(EXIT_STORE, "purge failed: %s", strerror(-r));
	time_format_rfc3339(res.cutoff_ns, cut, sizeof(cut));
	if (c->verbosity >= 0 && res.to == res.from)
		printf("nothing to purge: no checkpointed entry is older than %s (retention %u days)\n",
		       cut, res.retention_days);
	else if (c->verbosity >= 0)
		printf("%s the bodies of entries %" PRIu64 " to %" PRIu64
		       ", older than %s (retention %u days); their hashes are kept\n",
		       c->dry_run ? "would purge" : "purged", res.from, res.to - 1, cut,
		       res.retention_days);
	return EXIT_OK;
}

int cmd_journal(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	int status;

	if (!sub)
		return log_error(EXIT_USAGE, "'journal' needs a subcommand: tail, checkpoint, key,"
					     " verify, prove, consistency, export, purge");
	if (strcmp(sub, "export") == 0 ? argc != 3 : argc != 2)
		return log_error(EXIT_USAGE, strcmp(sub, "export") == 0
						     ? "'journal export' takes one directory"
						     : "'journal %s' takes no argument",
				 sub);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify(c);
	if (strcmp(sub, "tail") && strcmp(sub, "checkpoint") && strcmp(sub, "key") &&
	    strcmp(sub, "prove") && strcmp(sub, "consistency") && strcmp(sub, "export") &&
	    strcmp(sub, "purge"))
		return log_error(EXIT_USAGE, "unknown journal subcommand '%s'", sub);
	{
		bool reads = !strcmp(sub, "tail") || !strcmp(sub, "key") || !strcmp(sub, "prove") ||
			     !strcmp(sub, "consistency");

		status = open_all(c, reads ? JOURNAL_READ : JOURNAL_WRITE);
	}
	if (status != EXIT_OK)
		return status;
	if (strcmp(sub, "tail") == 0)
		return cmd_tail(c);
	if (strcmp(sub, "checkpoint") == 0)
		return cmd_checkpoint(c);
	if (strcmp(sub, "key") == 0)
		return cmd_key(c);
	if (strcmp(sub, "prove") == 0)
		return cmd_prove(c);
	if (strcmp(sub, "consistency") == 0)
		return cmd_consistency(c);
	if (strcmp(sub, "purge") == 0)
		return cmd_purge(c);
	return cmd_export(c, argv[2]);
}
