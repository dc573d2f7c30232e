/* Base64 for signatures, keys and root hashes: strict decoding, so one note has one text. */
#include <errno.h>
#include <stdbool.h>

#include "base/base64.h"
#include "base/banned.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(struct buf *out, const void *v, size_t n)
{
	const uint8_t *p = v;
	int r = buf_reserve(out, (n + 2) / 3 * 4);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t x = (uint32_t)p[i] << 16;
		char q[4];

		if (i + 1 < n)
			x |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			x |= p[i + 2];
		q[0] = alphabet[x >> 18];
		q[1] = alphabet[(x >> 12) & 63];
		q[2] = i + 1 < n ? alphabet[(x >> 6) & 63] : '=';
		q[3] = i + 2 < n ? alphabet[x & 63] : '=';
		r = buf_append(out, q, 4);
		if (r < 0)
			return r;
	}
	return 0;
}

static int val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	if (n % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int a = val(s[i]), b = val(s[i + 1]), c, d;
		bool last = i + 4 == n;
		uint32_t x;

		c = s[i + 2] == '=' && last ? 0 : val(s[i + 2]);
		d = s[i + 3] == '=' && last ? 0 : val(s[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -EINVAL;
		if (s[i + 2] == '=' && s[i + 3] != '=')
			return -EINVAL;
		x = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		if (o + (last && s[i + 2] == '=' ? 1 : last && s[i + 3] == '=' ? 2 : 3) > cap)
			return -E2BIG;
		out[o++] = (uint8_t)(x >> 16);
		if (s[i + 2] == '=' && last) {
			if (x & 0xffff)
				return -EINVAL; /* stray bits */
			break;
		}
		out[o++] = (uint8_t)(x >> 8);
		if (s[i + 3] == '=' && last) {
			if (x & 0xff)
				return -EINVAL;
			break;
		}
		out[o++] = (uint8_t)x;
	}
	return (int)o;
}
