/* textbuf: printf into a caller's fixed buffer, all or nothing per call.  Writers of wire
 * text (SDP answers, HTTP response heads) append line by line and check `overflow` once at
 * the end instead of after every line. */
#ifndef PEARFOG_TEXTBUF_H
#define PEARFOG_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *buf;
	size_t cap; /* bytes of buf, the NUL included */
	size_t len; /* text so far, without the NUL */
	bool overflow; /* a call did not fit: buf holds a truncated line, len stops before it */
};

/* A writer into buf[0..cap). */
#define TEXTBUF_INIT(buf, cap) { (buf), (cap), 0, false }

/* Appends the formatted text; once a call has not fit, every later call does nothing. */
__attribute__((format(printf, 2, 3))) void textbuf_printf(struct textbuf *t, const char *fmt,
							    ...);

#endif
