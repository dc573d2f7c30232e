/*
 * The socket collector: every listening TCP socket and every bound, unconnected UDP
 * socket of the host's network namespace, IPv4 and IPv6, with the process that owns it.
 * A new listener is one of the first signs of a backdoor, and a known port now served by
 * another program is as telling.
 *
 * The sockets come from the kernel through NETLINK_SOCK_DIAG (inet_diag): that query is
 * about the live system and cannot go through the root.  The owners are found in
 * ROOT/proc/PID/fd, where a socket shows as a link to "socket:[INODE]"; a socket shared by
 * several processes (after fork) is given to the lowest pid, and sockets with the same
 * address (an SO_REUSEPORT group) make one object, the one whose owner has the lowest pid.
 * Without the right to read another user's /proc/PID/fd the owner is null.
 *
 * Key: "tcp/127.0.0.1:631", "udp/[::]:5353", "tcp/0.0.0.0%eth0:22" (bound to a device).
 * State: {"exe": "/usr/sbin/sshd", "process": "sshd", "uid": 0}.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/parse.h"
#include "collect/collect.h"
#include "base/banned.h"

/* the kernel's socket states (include/net/tcp_states.h): UDP sockets that are bound but
 * not connected stay in TCP_CLOSE */
#define SK_STATE_CLOSE 7
#define SK_STATE_LISTEN 10

#define SOCK_MAX 65536u		/* sockets in one collection */
#define DUMP_TRIES 3		/* dumps retried when the kernel says one was interrupted */
#define NL_BUF_SIZE 65536u
#define KEY_SIZE 128		/* "udp6/[" + 45 + "%" + 15 + "]:65535" fits */
#define DEFAULT_TIMEOUT_NS (10LL * 1000 * 1000 * 1000)

struct sock_ent {
	char key[KEY_SIZE];
	uint64_t inode;
	uint32_t uid;
	long pid;	/* the owner, 0 when unknown */
};

struct sock_vec {
	struct sock_ent *v;
	size_t n, cap;
};

struct dump_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

/* "tcp/ADDR:PORT" with IPv6 in brackets and the device after a '%' */
static int sock_key(char *out, size_t size, const char *proto, int family, const void *addr,
		    unsigned port, unsigned ifindex)
{
	char a[INET6_ADDRSTRLEN], dev[IF_NAMESIZE + 1] = "";
	int k;

	if (!inet_ntop(family, addr, a, sizeof(a)))
		return -EINVAL;
	if (ifindex) {
		char name[IF_NAMESIZE];

		/* an interface that went away since: its number, which is all there is */
		if (if_indextoname(ifindex, name))
			snprintf(dev, sizeof(dev), "%%%s", name);
		else
			snprintf(dev, sizeof(dev), "%%%u", ifindex);
	}
	if (family == AF_INET6)
		k = snprintf(out, size, "%s/[%s%s]:%u", proto, a, dev, port);
	else
		k = snprintf(out, size, "%s/%s%s:%u", proto, a, dev, port);
	return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

static int vec_push(struct sock_vec *s, struct sock_ent **ret)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct sock_ent *nv;

		if (s->n >= SOCK_MAX)
			return -E2BIG;
		nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	*ret = &s->v[s->n++];
	memset(*ret, 0, sizeof(**ret));
	return 0;
}

/* One message of the dump: a socket of the family asked for, added to s. */
static int dump_one(const struct nlmsghdr *h, int family, const char *proto, struct sock_vec *s)
{
	const struct inet_diag_msg *m;
	struct sock_ent *e;
	int r;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	m = NLMSG_DATA(h);
	if (m->idiag_family != family)
		return -EBADMSG;
	r = vec_push(s, &e);
	if (r < 0)
		return r;
	e->inode = m->idiag_inode;
	e->uid = m->idiag_uid;
	return sock_key(e->key, sizeof(e->key), proto, family, m->id.idiag_src,
			ntohs(m->id.idiag_sport), m->id.idiag_if);
}

/*
 * Asks the kernel for the sockets of one family and protocol in the states of mask and
 * appends them to s.  Returns 1 when the kernel marked the dump as interrupted (the
 * caller drops what was appended and asks again), 0, or a negative errno.
 */
static int dump(int fd, uint32_t seq, int family, int protocol, uint32_t mask,
		const char *proto, struct sock_vec *s, char *rbuf)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct dump_req req;
	bool intr = false;
	ssize_t k;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)protocol;
	req.r.idiag_states = mask;
	do
		k = sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return neg_errno();
	if ((size_t)k != sizeof(req))
		return -EIO;

	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		const struct nlmsghdr *h;
		size_t left;

		k = recvfrom(fd, rbuf, NL_BUF_SIZE, MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : neg_errno();
		if ((size_t)k > NL_BUF_SIZE)
			return -EMSGSIZE;
		if (from.nl_pid != 0)
			continue;	/* not from the kernel */
		left = (size_t)k;
		h = (const struct nlmsghdr *)rbuf;
		for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			int r;

			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_DONE)
				return intr ? 1 : 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				return e->error < 0 ? e->error : -EPROTO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			r = dump_one(h, family, proto, s);
			if (r < 0)
				return r;
		}
		if (left != 0)
			return -EBADMSG;
	}
}

static int list_sockets(const struct coll_opts *o, struct sock_vec *s, struct vg_error *err)
{
	static const struct {
		int family, protocol;
		uint32_t mask;
		const char *proto, *what;
	} q[] = {
		{ AF_INET, IPPROTO_TCP, 1u << SK_STATE_LISTEN, "tcp", "tcp" },
		{ AF_INET6, IPPROTO_TCP, 1u << SK_STATE_LISTEN, "tcp", "tcp6" },
		{ AF_INET, IPPROTO_UDP, 1u << SK_STATE_CLOSE, "udp", "udp" },
		{ AF_INET6, IPPROTO_UDP, 1u << SK_STATE_CLOSE, "udp", "udp6" },
	};
	int64_t t = o->timeout_ns > 0 ? o->timeout_ns : DEFAULT_TIMEOUT_NS;
	struct timeval tv = { .tv_sec = t / 1000000000, .tv_usec = t % 1000000000 / 1000 };
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *rbuf = NULL;
	uint32_t seq = 1;
	int r = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		r = neg_errno();
		return vg_error_set(err, r, NULL, 0, 0,
				    "cannot open a sock_diag netlink socket: %s", strerror(-r));
	}
	rbuf = malloc(NL_BUF_SIZE);
	if (!rbuf)
		return vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
	for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
		size_t n0 = s->n;

		for (unsigned try = 0; try < DUMP_TRIES; try++) {
			s->n = n0;
			r = dump(fd, seq++, q[i].family, q[i].protocol, q[i].mask, q[i].proto, s,
				 rbuf);
			if (r <= 0)
				break;
		}
		if (r == -E2BIG)
			return vg_error_set(err, r, NULL, 0, 0,
					    "too many listening sockets (more than %u)", SOCK_MAX);
		if (r < 0)
			return vg_error_set(err, r, NULL, 0, 0,
					    "cannot list the %s sockets through netlink: %s",
					    q[i].what, strerror(-r));
		if (r > 0)
			return vg_error_set(err, -EAGAIN, NULL, 0, 0,
					    "the %s socket list kept changing while read",
					    q[i].what);
	}
	return 0;
}

static int cmp_inode(const void *a, const void *b)
{
	uint64_t x = ((const struct sock_ent *)a)->inode, y = ((const struct sock_ent *)b)->inode;

	return x < y ? -1 : x > y;
}

/* "socket:[INODE]" -> INODE */
static bool socket_link_inode(const char *t, uint64_t *ret)
{
	char num[24];
	size_t n;

	if (strncmp(t, "socket:[", 8) != 0)
		return false;
	t += 8;
	n = strlen(t);
	if (n < 2 || n - 1 >= sizeof(num) || t[n - 1] != ']')
		return false;
	memcpy(num, t, n - 1);
	num[n - 1] = '\0';
	return parse_u64(num, ret) == 0;
}

/* Gives the sockets that process pid holds (its fd directory under root) to it, unless a
 * lower pid holds them too.  s is sorted by inode. */
static void owners_of_pid(const char *fddir, long pid, struct sock_vec *s)
{
	DIR *d = opendir(fddir);
	struct dirent *de;

	/* gone since, or another user's process without the privilege: unknown owner */
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct sock_ent key, *hit;
		char target[64];
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		if (!socket_link_inode(target, &key.inode))
			continue;
		hit = bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_inode);
		if (!hit)
			continue;
		/* several sockets cannot share an inode, but bsearch may land anywhere in a
		 * run, so walk both ways */
		while (hit > s->v && hit[-1].inode == key.inode)
			hit--;
		for (; hit < s->v + s->n && hit->inode == key.inode; hit++)
			if (hit->pid == 0 || pid < hit->pid)
				hit->pid = pid;
	}
	closedir(d);
}

static int find_owners(const struct coll_opts *o, struct sock_vec *s, struct vg_error *err)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int r;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_inode);
	r = coll_path(o, "/proc", path, sizeof(path));
	if (r < 0)
		return vg_error_set(err, r, "/proc", 0, 0, "path too long under the root");
	d = opendir(path);
	if (!d) {
		r = neg_errno();
		return vg_error_set(err, r, "/proc", 0, 0, "cannot read '/proc': %s", strerror(-r));
	}
	while ((de = readdir(d))) {
		char fddir[4200];
		uint64_t pid;

		if (parse_uint_range(de->d_name, 1, INT32_MAX, &pid) < 0)
			continue;
		if (snprintf(fddir, sizeof(fddir), "%s/%s/fd", path, de->d_name) >=
		    (int)sizeof(fddir))
			continue;
		owners_of_pid(fddir, (long)pid, s);
	}
	closedir(d);
	return 0;
}

/* by key, then the owner with the lowest pid (unknown last), then by uid */
static int cmp_key_owner(const void *a, const void *b)
{
	const struct sock_ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->pid != y->pid) {
		if (!x->pid || !y->pid)
			return x->pid ? -1 : 1;
		return x->pid < y->pid ? -1 : 1;
	}
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* The state of one socket: the owner's command name and executable (null when unknown). */
static int sock_state(const struct coll_opts *o, const struct sock_ent *e, struct buf *out)
{
	_cleanup_free_ char *comm = NULL;
	struct json_writer w;
	char rel[64], path[4096], exe[4096];
	ssize_t exe_len = -1;
	size_t comm_len = 0;

	if (e->pid) {
		snprintf(rel, sizeof(rel), "/proc/%ld/comm", e->pid);
		if (coll_read(o, rel, 256, &comm, &comm_len) < 0) {
			comm = NULL;
			comm_len = 0;
		}
		while (comm && comm_len > 0 && comm[comm_len - 1] == '\n')
			comm_len--;
		snprintf(rel, sizeof(rel), "/proc/%ld/exe", e->pid);
		if (coll_path(o, rel, path, sizeof(path)) == 0)
			exe_len = readlink(path, exe, sizeof(exe));
		if (exe_len >= (ssize_t)sizeof(exe))
			exe_len = -1;
	}
	buf_reset(out);
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "exe");
	if (exe_len > 0)
		jw_str_bytes(&w, exe, (size_t)exe_len);
	else
		jw_null(&w);
	jw_key(&w, "process");
	if (comm)
		jw_str_bytes(&w, comm, comm_len);
	else
		jw_null(&w);
	jw_key(&w, "uid");
	jw_u64(&w, e->uid);
	jw_obj_close(&w);
	return w.err;
}

int coll_socket_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct sock_vec s = { 0 };
	struct buf state;
	int r;

	buf_init(&state, COLL_STATE_MAX);
	r = list_sockets(o, &s, err);
	if (r < 0)
		goto out;
	r = find_owners(o, &s, err);
	if (r < 0)
		goto out;
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(*s.v), cmp_key_owner);
	for (size_t i = 0; i < s.n; i++) {
		/* the rest of an SO_REUSEPORT group: the first (lowest pid) stands for it */
		if (i > 0 && strcmp(s.v[i].key, s.v[i - 1].key) == 0)
			continue;
		r = sock_state(o, &s.v[i], &state);
		if (r == 0)
			r = coll_set_add(out, s.v[i].key, buf_str(&state), NULL);
		if (r < 0) {
			vg_error_set(err, r, NULL, 0, 0, "cannot add socket '%s': %s", s.v[i].key,
				     strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	free(s.v);
	buf_release(&state);
	return r;
}
