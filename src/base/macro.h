/*
 * Small macros every module uses: cleanup attributes, ownership transfer, array size.
 *
 * A local declared with one of the _cleanup_*_ macros is released when it goes out of
 * scope.  The only ways a cleaned-up value escapes are TAKE_PTR() and TAKE_FD(), which
 * return the value and reset the local so the cleanup does nothing.
 */
#ifndef VIGIL_BASE_MACRO_H
#define VIGIL_BASE_MACRO_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_ __attribute__((warn_unused_result))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

/* Defines a cleanup helper name##p that calls name(*p) when *p is not NULL. */
#define DEFINE_CLEANUP_FUNC(type, name)                                                            \
	static inline void name##p(type **p)                                                       \
	{                                                                                          \
		if (*p)                                                                            \
			name(*p);                                                                  \
	}

/* Negative errno of the last failed call, never 0. */
static inline int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif
