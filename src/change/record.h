/*
 * Change records (CHG-01..05, CHG-08, CHG-12): the document, its validation, the
 * state machine and the rules of who may move a record.
 *
 * A record document is one JSON object with fixed field names (vigil-change(5)); the
 * same shape comes from `vigil change new --file`, from flags, and from `import` (which
 * adds source, revision, state, requester and approvals).  cr_doc_parse() checks every
 * field and names the place of the first problem; cr_doc_json() writes the document
 * the store keeps (every field, in a fixed order), which cr_doc_parse() reads back.
 *
 * States and transitions (CHG-02):
 *
 *	normal, standard:  draft -> submitted -> approved | rejected; rejected -> closed
 *	normal:            approved -> in_progress -> implemented -> reviewed -> closed
 *	standard:          approved -> closed (a standing authorization is retired)
 *	emergency:         draft | submitted -> in_progress (justification recorded first)
 *	                   -> implemented -> retro_approved | rejected -> reviewed -> closed
 *	draft, submitted, and a non-emergency approved record: -> cancelled
 *
 * An amendment makes a new revision; on an approved (or later) record it is allowed
 * only as long as it does not widen scope, window, implementers or weaken approvals,
 * else the record returns to submitted and needs its approvals again (CHG-08).
 */
#ifndef VIGIL_CHANGE_RECORD_H
#define VIGIL_CHANGE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/json-parse.h"
#include "change/account.h"

enum cr_type { CR_NORMAL, CR_STANDARD, CR_EMERGENCY, CR_TYPE__COUNT };

enum cr_state {
	CR_DRAFT,
	CR_SUBMITTED,
	CR_APPROVED,
	CR_REJECTED,
	CR_IN_PROGRESS,
	CR_IMPLEMENTED,
	CR_RETRO_APPROVED,
	CR_REVIEWED,
	CR_CLOSED,
	CR_CANCELLED,
	CR_STATE__COUNT,
};

enum cr_action {
	CR_SUBMIT,
	CR_APPROVE,
	CR_REJECT,
	CR_START,
	CR_COMPLETE,
	CR_REVIEW,
	CR_CLOSE,
	CR_CANCEL,
	CR_ACTION__COUNT,
};

const char *cr_type_name(enum cr_type t);
const char *cr_state_name(enum cr_state s);
const char *cr_action_name(enum cr_action a);
int cr_type_parse(const char *s, enum cr_type *ret);
int cr_state_parse(const char *s, enum cr_state *ret);

struct cr_list {
	char **v;
	size_t n;
};

/* A repository a standing authorization allows packages from. */
struct cr_repo {
	char *uri, *suite, *component;
	struct cr_list keys;		/* signing key fingerprints, 40 hex digits, upper case */
};

struct cr_approval {
	char *account;
	char *role;
	int64_t time_ns;
};

struct cr_doc {
	char *id;
	char *title, *description, *reason, *risk, *rollback, *test_evidence, *expected;
	char *justification;		/* emergency: why it could not wait */
	enum cr_type type;
	bool has_window;
	int64_t window_start, window_end;	/* UTC ns; a standing authorization's validity */
	char *requester;		/* account name */
	struct cr_list implementers;	/* account names */
	unsigned approvals_needed;	/* default 1 */
	enum role approver_role;	/* default approver */
	struct cr_list hosts, paths, packages, units, config;
	bool significant;
	/* a standing authorization (type standard) */
	struct cr_repo *repos;
	size_t n_repos;
	char *evidence;			/* "signed" (default), "content" or "owned" */
	bool conffiles, created;
	/* import */
	char *source;
	int64_t revision;
	char *state;
	struct cr_approval *approvals;
	size_t n_approvals;
};

void cr_doc_release(struct cr_doc *d);

enum cr_parse_mode {
	CR_PARSE_NEW,		/* a new record from a file: no source, revision, approvals */
	CR_PARSE_IMPORT,	/* an imported record: source, id, revision and state required */
	CR_PARSE_STORED,	/* a document the store keeps (written by cr_doc_json) */
};

/* Fills d from the JSON object v; on a problem returns -EINVAL with err naming
 * file:line:col and the field. */
int cr_doc_parse(const struct json_value *v, enum cr_parse_mode mode, const char *file,
		 struct cr_doc *d, struct vg_error *err);
/* The same from text. */
int cr_doc_parse_text(const char *text, size_t n, enum cr_parse_mode mode, const char *file,
		      struct cr_doc *d, struct vg_error *err);
/* Checks what a complete record needs (title, window for normal and standard records,
 * scope, justification for emergencies...): -EINVAL with err naming the field. */
int cr_doc_validate(const struct cr_doc *d, const char *file, struct vg_error *err);
/* The stored form: one JSON object with every field, in a fixed order. */
int cr_doc_json(const struct cr_doc *d, struct buf *out);

/*
 * Whether amended widens old: a scope entry, host, implementer or repository not in
 * old, a window reaching outside old's, fewer approvals or a changed type.  what gets
 * a short description of the first widening found.
 */
bool cr_doc_widens(const struct cr_doc *old, const struct cr_doc *amended, char *what,
		   size_t size);

/* The state an action leads to from state for a record of type t, or -1 when illegal.
 * For CR_APPROVE this is the state once enough approvals are in. */
int cr_next_state(enum cr_type t, enum cr_state state, enum cr_action a);
/* "submit, cancel": the actions legal from state, for refusals. */
void cr_allowed_actions(enum cr_type t, enum cr_state state, char *out, size_t size);

/* Whether the list holds s. */
bool cr_list_has(const struct cr_list *l, const char *s);

/*
 * Path patterns of a scope: '*' matches within one component, '**' any number of
 * components (as a whole component; "/dir/**" also names dir itself), '?' one
 * character; everything else literally.
 */
bool cr_path_match(const char *pattern, const char *path, size_t len);
/* Whether the pattern has no wildcard (an object expected to change). */
bool cr_pattern_literal(const char *pattern);

#endif
