/*
 * Escaping of arbitrary bytes for display.  Kept in one place so human output, JSON
 * and logs agree, and so the decoder is the exact inverse of the encoder.
 */
#include <errno.h>
#include <stdint.h>

#include "base/escape.h"
#include "base/banned.h"

size_t escape_utf8_len(const void *v, size_t n)
{
	const uint8_t *p = v;

	uint32_t cp;
	size_t len;

	if (n == 0 || p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (len == 2)
		cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
	else if (len == 3)
		cp = ((uint32_t)(p[0] & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
	else
		cp = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
		     ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
	if (cp < 0xa0 || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

bool escape_is_plain(const void *v, size_t n)
{
	const uint8_t *p = v;

	for (size_t i = 0; i < n;) {
		size_t l;

		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			i++;
			continue;
		}
		l = escape_utf8_len(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

int escape_bytes(struct buf *out, const void *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = v;
	size_t run = 0;
	int r;

	for (size_t i = 0; i < n;) {
		size_t l;

		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			i++;
			run++;
			continue;
		}
		l = escape_utf8_len(p + i, n - i);
		if (l) {
			i += l;
			run += l;
			continue;
		}
		r = buf_append(out, p + i - run, run);
		if (r < 0)
			return r;
		run = 0;
		if (p[i] == '\\') {
			r = buf_append(out, "\\\\", 2);
		} else {
			char e[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };

			r = buf_append(out, e, 4);
		}
		if (r < 0)
			return r;
		i++;
	}
	return buf_append(out, p + n - run, run);
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int escape_decode(struct buf *out, const char *s, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\') {
			if (i + 1 < n && s[i + 1] == '\\') {
				c = '\\';
				i++;
			} else if (i + 3 < n && s[i + 1] == 'x' && hex_digit(s[i + 2]) >= 0 &&
				   hex_digit(s[i + 3]) >= 0) {
				c = (char)(hex_digit(s[i + 2]) << 4 | hex_digit(s[i + 3]));
				i += 3;
			} else {
				return -EINVAL;
			}
		}
		r = buf_putc(out, c);
		if (r < 0)
			return r;
	}
	return 0;
}
