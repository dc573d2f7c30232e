/* libFuzzer harness: the settings (INI) parser. */
#include <stddef.h>
#include <stdint.h>

#include "conf/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s;
	struct vg_error err;

	settings_init(&s);
	(void)settings_parse_text(&s, "fuzz.conf", (const char *)data, size, &err);
	settings_release(&s);
	return 0;
}
