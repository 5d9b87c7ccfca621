/* hex: hexadecimal digits, shared by the parsers that read them (chunk ids, SDP fingerprints,
 * chunked transfer sizes, JSON \u escapes). */
#ifndef PEARFOG_HEX_H
#define PEARFOG_HEX_H

/* 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else (any int, e.g. a byte or EOF). */
int hex_digit_value(int c);

#endif
