/*
 * The firewall collector's parsers, apart from running the programs, so that tests can
 * feed them saved outputs (see coll-firewall.c for the objects they make).
 */
#ifndef VIGIL_COLLECT_COLL_FIREWALL_H
#define VIGIL_COLLECT_COLL_FIREWALL_H

#include "base/error.h"
#include "collect/collect.h"

/*
 * Adds the objects of a ruleset printed by `nft -s list ruleset` (text) to out: one per
 * table ("inet filter"), per chain ("inet filter input"), per set or map ("inet filter
 * set blocked") and per other named object ("inet filter counter c").  Returns 0, or
 * -EINVAL for text that is not in that format (err names the line, with file "nft"),
 * -E2BIG past a cap, -EEXIST for an object named twice, -ENOMEM.
 */
int coll_firewall_parse_nft(const char *text, struct coll_set *out, struct vg_error *err);

/*
 * Adds the chains of an `iptables-save` or `ip6tables-save` output to out, with keys
 * "FAMILY TABLE CHAIN" (family "ip" or "ip6").  Same returns as above.
 */
int coll_firewall_parse_iptables(const char *text, const char *family, struct coll_set *out,
				 struct vg_error *err);

#endif
