/* dcep: RFC 8832 DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK, RFC 8831 §8 PPIDs. */
#include "dcep.h"
#include "byteorder.h"

#include <string.h>

/* RFC 8832 §5.1 channel types and what they mean for the SCTP sender. */
static const struct {
	uint8_t type;
	bool unordered;
	enum dcep_reliability reliability;
} channel_types[] = {
	{ DCEP_CHANNEL_RELIABLE, false, DCEP_RELIABILITY_FULL },
	{ DCEP_CHANNEL_RELIABLE_UNORDERED, true, DCEP_RELIABILITY_FULL },
	{ DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT, false, DCEP_RELIABILITY_REXMIT },
	{ DCEP_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED, true, DCEP_RELIABILITY_REXMIT },
	{ DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED, false, DCEP_RELIABILITY_TIMED },
	{ DCEP_CHANNEL_PARTIAL_RELIABLE_TIMED_UNORDERED, true, DCEP_RELIABILITY_TIMED },
};

static int channel_type_index(uint8_t type)
{
	for (size_t i = 0; i < sizeof(channel_types) / sizeof(channel_types[0]); i++)
		if (channel_types[i].type == type)
			return (int)i;
	return -1;
}

bool dcep_channel_type_valid(uint8_t channel_type)
{
	return channel_type_index(channel_type) >= 0;
}

bool dcep_channel_type_unordered(uint8_t channel_type)
{
	int i = channel_type_index(channel_type);

	return i >= 0 && channel_types[i].unordered;
}

enum dcep_reliability dcep_channel_type_reliability(uint8_t channel_type)
{
	int i = channel_type_index(channel_type);

	return i >= 0 ? channel_types[i].reliability : DCEP_RELIABILITY_FULL;
}

/* RFC 8831 §8; 52/54 (deprecated partial PPIDs) are refused, see dcep.h. */
enum dcep_ppid_kind dcep_ppid_kind(uint32_t ppid)
{
	switch (ppid) {
	case DCEP_PPID_CONTROL:
		return DCEP_PPID_KIND_CONTROL;
	case DCEP_PPID_STRING:
		return DCEP_PPID_KIND_STRING;
	case DCEP_PPID_BINARY:
		return DCEP_PPID_KIND_BINARY;
	case DCEP_PPID_STRING_EMPTY:
		return DCEP_PPID_KIND_STRING_EMPTY;
	case DCEP_PPID_BINARY_EMPTY:
		return DCEP_PPID_KIND_BINARY_EMPTY;
	default:
		return DCEP_PPID_KIND_INVALID;
	}
}

/* RFC 8832 §5.1 (OPEN) and §5.2 (ACK). */
int dcep_parse(const uint8_t *buf, size_t len, struct dcep_msg *out)
{
	struct dcep_open *o = &out->open;
	size_t need;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return DCEP_E_SHORT;
	switch (buf[0]) {
	case DCEP_MSG_ACK:
		if (len != DCEP_ACK_LEN)
			return DCEP_E_TRAILING;
		out->type = DCEP_MSG_ACK;
		return DCEP_OK;
	case DCEP_MSG_OPEN:
		break;
	default:
		return DCEP_E_TYPE;
	}
	if (len < DCEP_OPEN_HEADER_LEN)
		return DCEP_E_SHORT;
	out->type = DCEP_MSG_OPEN;
	o->channel_type = buf[1];
	if (!dcep_channel_type_valid(o->channel_type))
		return DCEP_E_CHANNEL_TYPE;
	o->priority = rd16(buf + 2);
	o->reliability = rd32(buf + 4);
	/* §5.1: for reliable channel types the parameter "is ignored". */
	if (dcep_channel_type_reliability(o->channel_type) == DCEP_RELIABILITY_FULL)
		o->reliability = 0;
	o->label_len = rd16(buf + 8);
	o->protocol_len = rd16(buf + 10);
	need = (size_t)DCEP_OPEN_HEADER_LEN + o->label_len + o->protocol_len;
	if (len < need)
		return DCEP_E_LENGTH;
	if (len > need)
		return DCEP_E_TRAILING;
	o->label = o->label_len ? buf + DCEP_OPEN_HEADER_LEN : NULL;
	o->protocol = o->protocol_len ? buf + DCEP_OPEN_HEADER_LEN + o->label_len : NULL;
	return DCEP_OK;
}

size_t dcep_open_len(const struct dcep_open *o)
{
	return (size_t)DCEP_OPEN_HEADER_LEN + o->label_len + o->protocol_len;
}

int dcep_build_open(uint8_t *buf, size_t cap, const struct dcep_open *o)
{
	size_t len = dcep_open_len(o);

	if (!dcep_channel_type_valid(o->channel_type))
		return DCEP_E_CHANNEL_TYPE;
	if (cap < len)
		return DCEP_E_SPACE;
	buf[0] = DCEP_MSG_OPEN;
	buf[1] = o->channel_type;
	wr16(buf + 2, o->priority);
	wr32(buf + 4,
	     dcep_channel_type_reliability(o->channel_type) == DCEP_RELIABILITY_FULL ?
		     0 : o->reliability);
	wr16(buf + 8, o->label_len);
	wr16(buf + 10, o->protocol_len);
	if (o->label_len)
		memcpy(buf + DCEP_OPEN_HEADER_LEN, o->label, o->label_len);
	if (o->protocol_len)
		memcpy(buf + DCEP_OPEN_HEADER_LEN + o->label_len, o->protocol, o->protocol_len);
	return (int)len;
}

int dcep_build_ack(uint8_t *buf, size_t cap)
{
	if (cap < DCEP_ACK_LEN)
		return DCEP_E_SPACE;
	buf[0] = DCEP_MSG_ACK;
	return DCEP_ACK_LEN;
}

const char *dcep_strerror(int err)
{
	switch (err) {
	case DCEP_OK:
		return "ok";
	case DCEP_E_SHORT:
		return "message too short";
	case DCEP_E_TYPE:
		return "unknown DCEP message type";
	case DCEP_E_CHANNEL_TYPE:
		return "unknown channel type";
	case DCEP_E_LENGTH:
		return "label/protocol length exceeds message";
	case DCEP_E_TRAILING:
		return "trailing bytes after message";
	case DCEP_E_SPACE:
		return "output buffer too small";
	default:
		return "unknown error";
	}
}
