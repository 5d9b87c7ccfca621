/* libFuzzer: uci_parse never crashes or leaks; on success every section can be
 * found again by its name or @type[N] reference, and the typed getters run on
 * every option without crashing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uci_file f;
	struct uci_error err;
	static char ref[UCI_MAX_VALUE + 32];

	if (uci_parse((const char *)data, size, &f, &err) != UCI_OK) {
		if (err.code >= 0 || !err.msg[0] || f.arena)
			abort();
		return 0;
	}
	for (const struct uci_section *s = f.sections; s; s = s->next) {
		size_t idx = 0;

		for (const struct uci_section *t = f.sections; t != s; t = t->next)
			idx += strcmp(t->type, s->type) == 0;
		snprintf(ref, sizeof(ref), "@%s[%zu]", s->type, idx);
		if (uci_section_find(&f, ref) != s)
			abort();
		if (s->name && uci_section_find(&f, s->name) != s)
			abort();
		for (const struct uci_option *o = s->options; o; o = o->next) {
			bool b;
			uint64_t v;
			size_t n = 0;

			for (const struct uci_value *val = o->values; val; val = val->next)
				n++;
			if (n != o->n_values || n == 0 || (!o->is_list && n != 1))
				abort();
			uci_get_bool(&f, ref, o->name, &b, &err);
			for (int u = UCI_UNIT_NONE; u <= UCI_UNIT_SECONDS; u++)
				uci_get_uint(&f, ref, o->name, (enum uci_unit)u, 0, UINT64_MAX, &v,
					     &err);
		}
	}
	uci_file_free(&f);
	return 0;
}
