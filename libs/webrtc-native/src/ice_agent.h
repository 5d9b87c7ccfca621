/* ice_agent: full ICE for pear-fogd in the controlled role (RFC 8445), one component, one
 * local base (the gateway's UDP socket).  The browser makes the offer, so it is the
 * controlling agent; pear-fogd answers without a=ice-lite and:
 *
 *   - answers the browser's checks exactly as ice_lite does (the `lite` member does that
 *     part: authentication, 400/401/420/487, valid list, USE-CANDIDATE nomination,
 *     RFC 7675 consent expiry);
 *   - keeps a check list of the browser's candidates (from the offer and trickled later,
 *     RFC 8838) and sends its own connectivity checks to them (§7.2.4), paced one
 *     transmission every ICE_TA_MS per agent (§14.2), triggered checks first (§7.3.1.4),
 *     then the highest-priority waiting pair (§6.1.4.2); retransmissions with RTO
 *     ICE_CHECK_RTO_MS doubling, ICE_CHECK_RC transmissions (RFC 8489 §6.2.1).  These
 *     outgoing checks are what open pear-fogd's own NAT (an address- or port-restricted
 *     NAT lets the browser's checks in only after pear-fogd has sent towards them);
 *   - learns peer-reflexive remote candidates from checks that arrive from unknown
 *     addresses (§7.3.1.3) and checks them back at once (triggered);
 *   - after nomination: no more ordinary checks (§8.3); consent requests on the selected
 *     pair every ICE_CONSENT_MS ± 20 % (RFC 7675 §5.1), whose responses count as consent
 *     like the browser's own checks do.
 *
 * Local candidates: every check goes out of the one socket, so there is a single base
 * and one pair per remote candidate (server-reflexive local candidates are pruned into
 * their base, §6.1.2.4).  Remote candidates of the other address family, TCP ones,
 * components other than 1, names that are not IP literals (mDNS), and loopback,
 * unspecified, multicast or broadcast addresses are skipped: a browser must not make the
 * router send to its own services or to a group (RFC 8445 §19.5).
 *
 * Nomination (§7.3.1.5, §8.2): a nominated pair is selected when the browser's check
 * carrying USE-CANDIDATE is answered; browsers send USE-CANDIDATE only on a pair whose
 * check already succeeded for them, so waiting for our own check on it would add a round
 * trip and nothing else.
 *
 * With `full` false the agent is ICE-lite (RFC 8445 §2.5): no check list, no checks, no
 * consent requests — what pear-fogd did before; kept for nodes with a public address
 * (config option ice_lite).
 *
 * No I/O, no clock: the caller sends what ice_agent_poll returns and passes every STUN
 * datagram for this agent to ice_agent_on_stun. */
#ifndef PEARFOG_ICE_AGENT_H
#define PEARFOG_ICE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ice_lite.h"
#include "sdp.h"
#include "stun.h"

#define ICE_TA_MS 50		/* §14.2 pacing, one transmission per Ta */
#define ICE_CHECK_RTO_MS 250	/* first retransmission; doubles each time */
#define ICE_CHECK_RC 7		/* transmissions before a pair fails */
#define ICE_CONSENT_MS 5000	/* RFC 7675 §5.1: mean consent request interval */
#define ICE_MAX_PAIRS 24	/* remote candidates kept (offer + trickle + prflx) */
#define ICE_REQ_MAX 256		/* our checks: ~100 bytes with 8+8 char ufrags */

enum ice_agent_err {
	ICE_AGENT_OK = 0,
	ICE_AGENT_E_SKIPPED = -1,	/* candidate not usable here (family, TCP, mDNS, …) */
	ICE_AGENT_E_FULL = -2,		/* ICE_MAX_PAIRS reached */
	ICE_AGENT_E_LITE = -3,		/* a lite agent keeps no check list */
};

enum ice_pair_state {
	ICE_PAIR_WAITING,
	ICE_PAIR_IN_PROGRESS,
	ICE_PAIR_SUCCEEDED,
	ICE_PAIR_FAILED,
};

struct ice_pair {
	struct sockaddr_storage addr;	/* remote candidate, in the socket's family */
	socklen_t addrlen;
	uint32_t remote_priority;
	enum sdp_cand_type type;	/* remote type; SDP_CAND_PRFLX when learned */
	uint64_t priority;		/* pair priority, §6.1.2.3 */
	enum ice_pair_state state;
	bool triggered;			/* queued as a triggered check */
	uint8_t txid[STUN_TXID_LEN];
	unsigned tries;
	uint64_t next_ms;		/* next retransmission when IN_PROGRESS */
	uint64_t rto_ms;
};

struct ice_agent_counters {
	uint64_t checks_sent;		/* transmissions, retransmissions included */
	uint64_t checks_ok;		/* pairs that succeeded */
	uint64_t checks_failed;		/* pairs that failed (timeout, error, asymmetric) */
	uint64_t remote_candidates;	/* added from the offer or trickle */
	uint64_t prflx;			/* peer-reflexive remote candidates learned */
	uint64_t consent_sent;
	uint64_t consent_ok;
	uint64_t bad_responses;		/* txid of ours but integrity or source wrong */
};

struct ice_agent {
	struct ice_lite lite;
	bool full;
	int family;			/* the socket's: AF_INET or AF_INET6 (v4 mapped) */
	uint64_t tie_breaker;
	uint32_t local_priority;	/* of the base, for pair priorities */
	struct ice_pair pairs[ICE_MAX_PAIRS];
	unsigned n_pairs;
	uint64_t next_tx_ms;		/* pacing */
	uint8_t consent_txid[STUN_TXID_LEN];
	bool consent_in_flight;
	uint64_t next_consent_ms;
	struct ice_agent_counters counters;
};

/* ice_lite_init plus a random tie-breaker; family = the UDP socket's address family. */
int ice_agent_init(struct ice_agent *a, const char *remote_ufrag, const char *remote_pwd,
		   bool full, int family);
/* A remote candidate from the offer or trickle (RFC 8838).  ICE_AGENT_OK, or an
 * ice_agent_err (E_SKIPPED is normal for mDNS/TCP/other-family candidates). */
int ice_agent_add_remote(struct ice_agent *a, const struct sdp_candidate *c, uint64_t now_ms);
/* Any STUN datagram for this agent: requests/indications go to the lite part (result
 * and response as ice_lite_on_stun); responses to our checks update the check list
 * (ICE_LITE_DROP, nothing to send). */
enum ice_lite_result ice_agent_on_stun(struct ice_agent *a, const uint8_t *pkt, size_t len,
				       const struct sockaddr *from, socklen_t fromlen,
				       uint64_t now_ms, uint8_t *resp, size_t *resp_len);
/* Is this response transaction ours (a check or a consent request)? */
bool ice_agent_owns(const struct ice_agent *a, const uint8_t txid[STUN_TXID_LEN]);
/* The next check to send at now_ms, if one is due: writes it into buf, its destination
 * into *to and *tolen, and returns its length; 0 when nothing is due. */
size_t ice_agent_poll(struct ice_agent *a, uint64_t now_ms, uint8_t *buf, size_t cap,
		      struct sockaddr_storage *to, socklen_t *tolen);
/* Are checks still to be sent (pairs waiting or in progress that are worth it)? */
bool ice_agent_checking(const struct ice_agent *a);
/* Number of pairs in each state (for status and tests). */
unsigned ice_agent_count(const struct ice_agent *a, enum ice_pair_state st);

#endif
