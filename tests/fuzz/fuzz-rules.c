/* libFuzzer harness: the rule-file parser, and the policy compiled from what it accepts. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset rs;
	struct policy p;
	struct vg_error err;

	ruleset_init(&rs);
	if (ruleset_parse_text(&rs, "fuzz.rules", (const char *)data, size, &err) == 0 &&
	    policy_compile(&rs, &p) == 0) {
		static const char *const probes[] = { "/", "/etc", "/etc/ssh/sshd_config", "/a/b/c" };

		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			(void)policy_decide(&p, probes[i], strlen(probes[i]));
		for (size_t i = 0; i < p.n_roots; i++)
			(void)policy_decide(&p, p.roots[i], p.root_lens[i]);
		policy_release(&p);
	}
	ruleset_release(&rs);
	return 0;
}
