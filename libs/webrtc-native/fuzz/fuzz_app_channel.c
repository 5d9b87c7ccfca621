/* libFuzzer: app_channel_classify on any label a browser's DCEP OPEN can carry (RFC 8832
 * §5.1; channel.c has already refused NUL bytes and labels over max_label).  An app name it
 * returns is the label's suffix and matches [a-z0-9][a-z0-9-]{0,31}. */
#include <stdlib.h>
#include <string.h>

#include "app_channel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char label[1025], name[APP_CHANNEL_NAME_MAX + 1];
	size_t n = size < sizeof(label) - 1 ? size : sizeof(label) - 1, plen;
	enum app_channel_kind k;

	memcpy(label, data, n);
	label[n] = '\0';
	k = app_channel_classify(label, name);
	plen = strlen(APP_CHANNEL_LABEL_PREFIX);
	if (k == APP_CHANNEL_CHUNKS && strcmp(label, APP_CHANNEL_CHUNK_LABEL) != 0)
		abort();
	if (k != APP_CHANNEL_APP) {
		if (name[0])
			abort();
		return 0;
	}
	if (strncmp(label, APP_CHANNEL_LABEL_PREFIX, plen) != 0 || strcmp(label + plen, name) != 0)
		abort();
	if (strlen(name) == 0 || strlen(name) > APP_CHANNEL_NAME_MAX || name[0] == '-')
		abort();
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			abort();
	return 0;
}
