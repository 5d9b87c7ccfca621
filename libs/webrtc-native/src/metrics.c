#include "metrics.h"

#include <inttypes.h>
#include <string.h>

static int64_t values[M__COUNT];

static const struct {
	const char *name, *type, *help;
} table[M__COUNT] = {
#define METRIC_ROW(id, n, t, h) [M_##id] = { n, t, h },
	METRICS_COUNTERS(METRIC_ROW)
#undef METRIC_ROW
};

void metrics_add(enum metric_id id, int64_t n)
{
	values[id] += n;
}

void metrics_set(enum metric_id id, int64_t v)
{
	values[id] = v;
}

int64_t metrics_get(enum metric_id id)
{
	return values[id];
}

void metrics_reset(void)
{
	memset(values, 0, sizeof(values));
}

void metrics_render_prometheus(struct ctl_json_out *o)
{
	for (int i = 0; i < M__COUNT; i++)
		ctl_json_out_fmt(o, "# HELP %s %s\n# TYPE %s %s\n%s %" PRId64 "\n", table[i].name,
				 table[i].help, table[i].name, table[i].type, table[i].name, values[i]);
}

void metrics_render_json_members(struct ctl_json_out *o)
{
	static const char prefix[] = "pearfog_";

	for (int i = 0; i < M__COUNT; i++)
		ctl_json_out_fmt(o, ",\"%s\":%" PRId64, table[i].name + sizeof(prefix) - 1, values[i]);
}
