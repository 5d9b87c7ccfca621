/* channel: RFC 8831 data channels over one sctp_assoc, DCEP (RFC 8832) for opening. */
#include "channel.h"

#include <stdlib.h>
#include <string.h>

const struct channel_config channel_config_default = {
	.sctp = SCTP_ASSOC_CONFIG_DEFAULTS,
	.dtls_client = false,
	.max_channels = 64,
	.max_label = 1024,
};

enum channel_state {
	CH_OPEN,    /* usable */
	CH_CLOSING, /* we reset our outgoing stream, waiting for the peer's */
	CH_CLOSED,  /* on_close done; kept until both directions are reset */
};

struct channel {
	struct channel *next;
	struct channel_mgr *mgr;
	void *user;
	uint16_t stream;
	uint8_t type;
	uint16_t priority;
	uint32_t reliability;
	enum channel_state state;
	bool local;       /* opened by us */
	bool acked;       /* peer-opened, or our OPEN was ACKed */
	bool ack_pending; /* our ACK hit a full send buffer; resent on writable */
	bool in_reset, out_reset;
	const char *protocol;
	char label[]; /* label NUL protocol NUL */
};

struct channel_mgr {
	bool dtls_client;
	uint16_t max_channels, max_label;
	struct channel_callbacks cb;
	void *user;
	struct sctp_assoc *assoc;
	struct channel *channels;
	size_t n_channels; /* including closing/closed ones still holding a stream */
	size_t n_visible;
	unsigned depth; /* inside one of our sctp callbacks */
	bool dead;      /* channel_mgr_free() called inside a callback */
	bool acks_pending;
	struct channel_stats stats;
};

static struct channel *find(struct channel_mgr *m, uint16_t stream)
{
	struct channel *ch = m->channels;

	while (ch && ch->stream != stream)
		ch = ch->next;
	return ch;
}

static struct channel *channel_alloc(struct channel_mgr *m, uint16_t stream, uint8_t type,
				     const uint8_t *label, size_t llen, const uint8_t *proto,
				     size_t plen)
{
	struct channel *ch = calloc(1, sizeof(*ch) + llen + 1 + plen + 1);

	if (!ch)
		return NULL;
	ch->mgr = m;
	ch->stream = stream;
	ch->type = type;
	if (llen)
		memcpy(ch->label, label, llen);
	ch->protocol = ch->label + llen + 1;
	if (plen)
		memcpy(ch->label + llen + 1, proto, plen);
	ch->next = m->channels;
	m->channels = ch;
	m->n_channels++;
	m->n_visible++;
	return ch;
}

static void channel_unlink(struct channel_mgr *m, struct channel *ch)
{
	struct channel **p = &m->channels;

	while (*p && *p != ch)
		p = &(*p)->next;
	if (*p)
		*p = ch->next;
	m->n_channels--;
	free(ch);
}

static void mgr_destroy(struct channel_mgr *m)
{
	while (m->channels) {
		struct channel *ch = m->channels;

		m->channels = ch->next;
		free(ch);
	}
	free(m);
}

static void mgr_enter(struct channel_mgr *m)
{
	m->depth++;
}

static void mgr_leave(struct channel_mgr *m)
{
	if (--m->depth == 0 && m->dead)
		mgr_destroy(m);
}

/* on_close once; the stream stays reserved until both directions are reset. */
static void channel_closed(struct channel_mgr *m, struct channel *ch)
{
	if (ch->state != CH_CLOSED) {
		ch->state = CH_CLOSED;
		m->n_visible--;
		if (m->cb.on_close)
			m->cb.on_close(m->user, ch);
	}
	if (!m->dead && ch->in_reset && ch->out_reset)
		channel_unlink(m, ch);
}

static int send_ack(struct channel_mgr *m, struct channel *ch)
{
	uint8_t ack[DCEP_ACK_LEN];
	int rc;

	dcep_build_ack(ack, sizeof(ack));
	rc = sctp_assoc_send(m->assoc, ch->stream, DCEP_PPID_CONTROL, ack, sizeof(ack), NULL);
	ch->ack_pending = rc == SCTP_E_AGAIN;
	if (ch->ack_pending)
		m->acks_pending = true;
	return rc;
}

static bool our_parity(const struct channel_mgr *m, uint16_t stream)
{
	return (stream & 1) == (m->dtls_client ? 0 : 1);
}

/* RFC 8832 §6: answer the peer's DATA_CHANNEL_OPEN with an ACK on the same stream. */
static void on_dcep_open(struct channel_mgr *m, uint16_t stream, const struct dcep_open *o)
{
	struct channel *ch;

	if (find(m, stream) || our_parity(m, stream) || m->n_channels >= m->max_channels ||
	    o->label_len > m->max_label || o->protocol_len > m->max_label ||
	    (o->label_len && memchr(o->label, 0, o->label_len)) ||
	    (o->protocol_len && memchr(o->protocol, 0, o->protocol_len))) {
		m->stats.opens_refused++;
		/* A duplicate OPEN must not tear down the existing channel. */
		if (!find(m, stream))
			sctp_assoc_reset_stream(m->assoc, stream);
		return;
	}
	ch = channel_alloc(m, stream, o->channel_type, o->label, o->label_len, o->protocol,
			   o->protocol_len);
	if (!ch) {
		sctp_assoc_reset_stream(m->assoc, stream);
		return;
	}
	ch->priority = o->priority;
	ch->reliability = o->reliability;
	ch->acked = true;
	send_ack(m, ch);
	if (m->cb.on_open)
		m->cb.on_open(m->user, ch);
}

static void on_control(struct channel_mgr *m, uint16_t stream, const uint8_t *d, size_t len)
{
	struct dcep_msg msg;
	struct channel *ch;

	if (dcep_parse(d, len, &msg) != DCEP_OK) {
		m->stats.dcep_invalid++;
		return;
	}
	if (msg.type == DCEP_MSG_OPEN) {
		on_dcep_open(m, stream, &msg.open);
		return;
	}
	ch = find(m, stream);
	if (ch && ch->local)
		ch->acked = true;
}

static void resend_acks(struct channel_mgr *m)
{
	m->acks_pending = false;
	for (struct channel *ch = m->channels; ch && !m->dead; ch = ch->next)
		if (ch->ack_pending && send_ack(m, ch) == SCTP_E_AGAIN)
			break;
}

static void sctp_message(void *user, uint16_t stream, uint32_t ppid, const uint8_t *d,
			 size_t len)
{
	struct channel_mgr *m = user;
	enum dcep_ppid_kind kind = dcep_ppid_kind(ppid);
	struct channel *ch;

	if (m->dead)
		return;
	mgr_enter(m);
	if (kind == DCEP_PPID_KIND_CONTROL) {
		on_control(m, stream, d, len);
	} else if (kind == DCEP_PPID_KIND_INVALID) {
		m->stats.dropped_bad_ppid++;
	} else if (!(ch = find(m, stream)) || ch->state != CH_OPEN) {
		m->stats.dropped_no_channel++;
	} else if (m->cb.on_message) {
		bool binary = kind == DCEP_PPID_KIND_BINARY || kind == DCEP_PPID_KIND_BINARY_EMPTY;
		bool empty = kind == DCEP_PPID_KIND_STRING_EMPTY ||
			     kind == DCEP_PPID_KIND_BINARY_EMPTY;

		m->cb.on_message(m->user, ch, binary, empty ? (const uint8_t *)"" : d,
				 empty ? 0 : len);
	}
	mgr_leave(m);
}

/* RFC 8831 §6.7: a reset of the peer's outgoing stream closes the channel; we reset ours
 * in answer unless we started the close. */
static void sctp_stream_reset(void *user, uint16_t stream, unsigned flags)
{
	struct channel_mgr *m = user;
	struct channel *ch;

	if (m->dead)
		return;
	mgr_enter(m);
	ch = find(m, stream);
	if (ch) {
		if (flags & (SCTP_RST_OUTGOING | SCTP_RST_FAILED))
			ch->out_reset = true;
		if (flags & SCTP_RST_INCOMING) {
			ch->in_reset = true;
			if (ch->state == CH_OPEN && !ch->out_reset &&
			    sctp_assoc_reset_stream(m->assoc, stream) != SCTP_OK)
				ch->out_reset = true;
		}
		if (ch->in_reset)
			channel_closed(m, ch);
	}
	mgr_leave(m);
}

static void sctp_state(void *user, enum sctp_state st)
{
	struct channel_mgr *m = user;

	if (m->dead)
		return;
	mgr_enter(m);
	if (st == SCTP_ST_CLOSED) {
		for (struct channel *ch = m->channels; ch && !m->dead;) {
			struct channel *next = ch->next;

			ch->in_reset = ch->out_reset = true;
			channel_closed(m, ch);
			ch = next;
		}
	}
	if (!m->dead && m->cb.on_state)
		m->cb.on_state(m->user, st);
	mgr_leave(m);
}

static void sctp_writable(void *user)
{
	struct channel_mgr *m = user;

	if (m->dead)
		return;
	mgr_enter(m);
	if (m->acks_pending)
		resend_acks(m);
	if (!m->dead && m->cb.on_writable)
		m->cb.on_writable(m->user);
	mgr_leave(m);
}

/* Runs inside usrsctp.  Also forwards the ABORT sent while channel_mgr_free() runs. */
static void sctp_packet(void *user, const uint8_t *pkt, size_t len)
{
	struct channel_mgr *m = user;

	m->cb.send_packet(m->user, pkt, len);
}

static const struct sctp_callbacks mgr_sctp_callbacks = {
	.send_packet = sctp_packet,
	.on_message = sctp_message,
	.on_writable = sctp_writable,
	.on_stream_reset = sctp_stream_reset,
	.on_state = sctp_state,
};

struct channel_mgr *channel_mgr_new(const struct channel_config *cfg,
				    const struct channel_callbacks *cb, void *user)
{
	struct channel_mgr *m;

	if (!cb || !cb->send_packet)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (!cfg)
		cfg = &channel_config_default;
	m->dtls_client = cfg->dtls_client;
	m->max_channels = cfg->max_channels;
	m->max_label = cfg->max_label;
	m->cb = *cb;
	m->user = user;
	m->assoc = sctp_assoc_new(&cfg->sctp, &mgr_sctp_callbacks, m);
	if (!m->assoc) {
		free(m);
		return NULL;
	}
	return m;
}

int channel_mgr_on_packet(struct channel_mgr *m, const uint8_t *pkt, size_t len)
{
	int rc;

	if (m->dead)
		return SCTP_E_STATE;
	mgr_enter(m);
	rc = sctp_assoc_on_packet(m->assoc, pkt, len);
	mgr_leave(m);
	return rc;
}

void channel_mgr_free(struct channel_mgr *m)
{
	if (!m || m->dead)
		return;
	m->dead = true;
	mgr_enter(m);
	sctp_assoc_free(m->assoc); /* may send ABORT through sctp_packet */
	mgr_leave(m);
}

struct sctp_assoc *channel_mgr_assoc(struct channel_mgr *m)
{
	return m->assoc;
}

const struct channel_stats *channel_mgr_stats(const struct channel_mgr *m)
{
	return &m->stats;
}

size_t channel_mgr_count(const struct channel_mgr *m)
{
	return m->n_visible;
}

/* RFC 8832 §6: DTLS client even stream ids, server odd; lowest free one. */
static int pick_stream(struct channel_mgr *m)
{
	uint16_t in = sctp_assoc_in_streams(m->assoc), out = sctp_assoc_out_streams(m->assoc);
	unsigned limit = in < out ? in : out;

	for (unsigned s = m->dtls_client ? 0 : 1; s < limit; s += 2)
		if (!find(m, (uint16_t)s))
			return (int)s;
	return CHANNEL_E_NO_STREAM;
}

struct channel *channel_open(struct channel_mgr *m, const char *label, const char *protocol,
			     enum dcep_channel_type type, uint32_t reliability,
			     uint16_t priority, int *err)
{
	size_t llen = label ? strlen(label) : 0, plen = protocol ? strlen(protocol) : 0;
	struct dcep_open o;
	struct channel *ch;
	uint8_t *buf;
	int rc, stream;

	if (m->dead || sctp_assoc_state(m->assoc) != SCTP_ST_CONNECTED)
		rc = SCTP_E_STATE;
	else if (!dcep_channel_type_valid((uint8_t)type))
		rc = CHANNEL_E_TYPE;
	else if (llen > m->max_label || plen > m->max_label)
		rc = CHANNEL_E_LABEL;
	else if (m->n_channels >= m->max_channels)
		rc = CHANNEL_E_LIMIT;
	else
		rc = stream = pick_stream(m);
	if (rc < 0)
		goto fail;
	o = (struct dcep_open){
		.channel_type = (uint8_t)type,
		.priority = priority,
		.reliability = reliability,
		.label = (const uint8_t *)label,
		.label_len = (uint16_t)llen,
		.protocol = (const uint8_t *)protocol,
		.protocol_len = (uint16_t)plen,
	};
	buf = malloc(dcep_open_len(&o));
	if (!buf) {
		rc = SCTP_E_NOMEM;
		goto fail;
	}
	dcep_build_open(buf, dcep_open_len(&o), &o);
	rc = sctp_assoc_send(m->assoc, (uint16_t)stream, DCEP_PPID_CONTROL, buf,
			     dcep_open_len(&o), NULL);
	free(buf);
	if (rc < 0)
		goto fail;
	ch = channel_alloc(m, (uint16_t)stream, (uint8_t)type, o.label, llen, o.protocol, plen);
	if (!ch) {
		/* The OPEN is out: take the stream back so the peer closes its side. */
		sctp_assoc_reset_stream(m->assoc, (uint16_t)stream);
		rc = SCTP_E_NOMEM;
		goto fail;
	}
	ch->local = true;
	ch->priority = priority;
	ch->reliability = dcep_channel_type_reliability((uint8_t)type) == DCEP_RELIABILITY_FULL ?
				  0 : reliability;
	return ch;
fail:
	if (err)
		*err = rc;
	return NULL;
}

int channel_send(struct channel *ch, bool binary, const uint8_t *data, size_t len)
{
	struct channel_mgr *m = ch->mgr;
	struct sctp_send_opts o = { 0 };
	uint32_t ppid;

	if (m->dead || ch->state != CH_OPEN)
		return CHANNEL_E_CLOSED;
	/* RFC 8832 §6: ordered until the ACK arrives. */
	o.unordered = ch->acked && dcep_channel_type_unordered(ch->type);
	switch (dcep_channel_type_reliability(ch->type)) {
	case DCEP_RELIABILITY_REXMIT:
		o.pr_policy = SCTP_PRP_REXMIT;
		break;
	case DCEP_RELIABILITY_TIMED:
		o.pr_policy = SCTP_PRP_TIMED;
		break;
	default:
		o.pr_policy = SCTP_PRP_NONE;
		break;
	}
	o.pr_value = ch->reliability;
	if (!len) {
		/* RFC 8831 §6.6: empty messages are one byte with PPID 56/57. */
		ppid = binary ? DCEP_PPID_BINARY_EMPTY : DCEP_PPID_STRING_EMPTY;
		return sctp_assoc_send(m->assoc, ch->stream, ppid, (const uint8_t *)"", 1, &o);
	}
	ppid = binary ? DCEP_PPID_BINARY : DCEP_PPID_STRING;
	return sctp_assoc_send(m->assoc, ch->stream, ppid, data, len, &o);
}

int channel_close(struct channel *ch)
{
	struct channel_mgr *m = ch->mgr;
	int rc;

	if (m->dead || ch->state != CH_OPEN)
		return CHANNEL_E_CLOSED;
	ch->state = CH_CLOSING;
	rc = sctp_assoc_reset_stream(m->assoc, ch->stream);
	if (rc != SCTP_OK)
		ch->out_reset = true; /* nothing to wait for on our side */
	return rc;
}

size_t channel_buffered_amount(const struct channel *ch)
{
	return ch->mgr->dead ? 0 : sctp_assoc_buffered(ch->mgr->assoc);
}

uint16_t channel_stream(const struct channel *ch)
{
	return ch->stream;
}

const char *channel_label(const struct channel *ch)
{
	return ch->label;
}

const char *channel_protocol(const struct channel *ch)
{
	return ch->protocol;
}

enum dcep_channel_type channel_type(const struct channel *ch)
{
	return (enum dcep_channel_type)ch->type;
}

uint32_t channel_reliability(const struct channel *ch)
{
	return ch->reliability;
}

uint16_t channel_priority(const struct channel *ch)
{
	return ch->priority;
}

void channel_set_user(struct channel *ch, void *user)
{
	ch->user = user;
}

void *channel_user(const struct channel *ch)
{
	return ch->user;
}

struct channel_mgr *channel_mgr_of(const struct channel *ch)
{
	return ch->mgr;
}

const char *channel_strerror(int err)
{
	switch (err) {
	case CHANNEL_E_NO_STREAM:
		return "no free stream id";
	case CHANNEL_E_LIMIT:
		return "too many channels";
	case CHANNEL_E_LABEL:
		return "label or protocol too long";
	case CHANNEL_E_CLOSED:
		return "channel closed";
	case CHANNEL_E_TYPE:
		return "unknown channel type";
	default:
		return sctp_strerror(err);
	}
}
