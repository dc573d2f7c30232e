/*
 * The X.509 certificates in the configured PKI paths: each path is a file or a directory
 * whose regular files are read (not recursively, dotfiles and symlinks passed over), and
 * each file may hold several certificates, in PEM (every CERTIFICATE block) or as one
 * DER certificate.  A certificate swapped for another with the same file name, a new
 * trust anchor dropped into a CA directory or one about to expire shows here as a change
 * of subject, issuer, validity, key or fingerprint rather than as an opaque new digest.
 *
 * PKI directories also hold keys, requests and revocation lists: files with no
 * certificate are skipped without a word, and the blocks of a PEM file that are not
 * certificates (private keys above all) are never even decoded; the bytes read are
 * wiped before they are freed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/macro.h"
#include "collect/collect.h"
#include "base/banned.h"

#define CERT_FILE_MAX (1u << 20)
#define CERT_DIR_MAX 4096	/* entries of one directory */
#define CERTS_PER_FILE_MAX 4096

struct cert_list {
	X509 *v[CERTS_PER_FILE_MAX];
	size_t n;
};

static void cert_list_release(struct cert_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		X509_free(l->v[i]);
	l->n = 0;
}

/* Reads the regular file full (at most CERT_FILE_MAX bytes).  Returns 0, -ENOENT when it
 * is gone, -EISDIR/-EINVAL when it is no regular file, -EFBIG, or another errno. */
static int read_whole(const char *full, bool nofollow, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char *data;
	size_t len = 0;

	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > CERT_FILE_MAX)
		return -EFBIG;
	data = malloc(CERT_FILE_MAX + 1);
	if (!data)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, data + len, CERT_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && len + (size_t)n > CERT_FILE_MAX)) {
			int e = n < 0 ? -errno : -EFBIG;

			free(data);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*ret = data;
	*ret_len = len;
	return 0;
}

static bool is_cert_label(const char *l, size_t n)
{
	static const char *const labels[] = { "CERTIFICATE", "X509 CERTIFICATE",
					      "TRUSTED CERTIFICATE" };

	for (size_t i = 0; i < ARRAY_SIZE(labels); i++)
		if (strlen(labels[i]) == n && memcmp(labels[i], l, n) == 0)
			return true;
	return false;
}

/* The label of a "-----BEGIN LABEL-----" or "-----END LABEL-----" line, or NULL. */
static const char *pem_label(const char *line, size_t n, const char *word, size_t *ret_len)
{
	size_t wl = strlen(word);

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	if (n < 5 + wl + 5 || memcmp(line, "-----", 5) != 0 ||
	    memcmp(line + 5, word, wl) != 0 || memcmp(line + n - 5, "-----", 5) != 0)
		return NULL;
	*ret_len = n - 10 - wl;
	return line + 5 + wl;
}

static int cert_error(struct vg_error *err, const char *full, unsigned line, const char *what)
{
	return vg_error_set(err, -EINVAL, full, line, 0, "%s", what);
}

/* Decodes one certificate block (base64 lines in body) into l. */
static int pem_cert(struct buf *b64, bool trusted, struct cert_list *l, const char *full,
		    unsigned begin, struct vg_error *err)
{
	_cleanup_free_ unsigned char *der = NULL;
	const unsigned char *p;
	X509 *x;
	int n;

	der = malloc(b64->len / 4 * 3 + 3);
	if (!der)
		return -ENOMEM;
	/* EVP_DecodeBlock counts '=' padding as zero bytes: take them off */
	n = EVP_DecodeBlock(der, (const unsigned char *)buf_str(b64), (int)b64->len);
	if (n < 0 || b64->len % 4 != 0)
		return cert_error(err, full, begin, "malformed base64 in a certificate block");
	for (size_t i = b64->len; i > 0 && b64->data[i - 1] == '='; i--)
		n--;
	p = der;
	x = trusted ? d2i_X509_AUX(NULL, &p, n) : d2i_X509(NULL, &p, n);
	if (!x)
		return cert_error(err, full, begin, "a certificate block holds no certificate");
	if (l->n == CERTS_PER_FILE_MAX) {
		X509_free(x);
		return vg_error_set(err, -E2BIG, full, 0, 0, "more than %d certificates",
				    CERTS_PER_FILE_MAX);
	}
	l->v[l->n++] = x;
	return 0;
}

/* Every certificate block of a PEM text; other blocks are passed over undecoded. */
static int pem_parse(const char *data, size_t len, struct cert_list *l, const char *full,
		     struct vg_error *err)
{
	_cleanup_buf_ struct buf b64 = { 0 };
	const char *p = data, *end = data + len, *label = NULL;
	size_t label_len = 0;
	unsigned lineno = 0, begin = 0;
	bool in_cert = false, in_other = false;
	int r;

	buf_init(&b64, CERT_FILE_MAX);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *lb;
		size_t lbl;

		lineno++;
		if (!in_cert && !in_other) {
			lb = pem_label(p, n, "BEGIN ", &lbl);
			if (lb) {
				begin = lineno;
				in_cert = is_cert_label(lb, lbl);
				in_other = !in_cert;
				label = lb;
				label_len = lbl;
				buf_reset(&b64);
			}
		} else if ((lb = pem_label(p, n, "END ", &lbl))) {
			/* other blocks are not checked: a PGP clear-signed text nests them */
			if (in_cert && (lbl != label_len || memcmp(lb, label, lbl) != 0))
				return cert_error(err, full, lineno, "END line of another block");
			if (in_cert) {
				bool trusted = lbl == 19 &&
					       memcmp(lb, "TRUSTED CERTIFICATE", 19) == 0;

				r = pem_cert(&b64, trusted, l, full, begin, err);
				if (r < 0)
					return r;
			}
			in_cert = in_other = false;
		} else if (in_cert) {
			for (size_t i = 0; i < n; i++) {
				char c = p[i];

				if (c == ' ' || c == '\t' || c == '\r')
					continue;
				if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				      (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
					return cert_error(err, full, lineno,
							  "not base64 in a certificate block");
				r = buf_putc(&b64, c);
				if (r < 0)
					return r;
			}
		}
		p += n + (nl ? 1 : 0);
	}
	if (in_cert)
		return cert_error(err, full, begin, "a certificate block has no END line");
	return 0;
}

static bool has_pem_begin(const char *data, size_t len)
{
	return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

/* "YYYY-MM-DDTHH:MM:SSZ" */
static void write_time(struct json_writer *w, const ASN1_TIME *t)
{
	struct tm tm;
	char s[80];

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
		jw_null(w);
		return;
	}
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	jw_str(w, s);
}

static void write_name(struct json_writer *w, const X509_NAME *name)
{
	_cleanup_free_ char *s = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	if (bio && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &p);
		s = strndup(p ? p : "", n > 0 ? (size_t)n : 0);
	}
	BIO_free(bio);
	if (!s) {
		w->err = w->err ? w->err : -ENOMEM;
		return;
	}
	/* RFC 2253 escaping leaves only printable ASCII (bytes above 0x7f and controls
	 * become "\\XX"), so the text goes as it is: its backslashes are the RFC's */
	jw_str(w, s);
}

static void write_serial(struct json_writer *w, const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	if (hex)
		jw_str(w, hex);
	else
		jw_null(w);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* "RSA-2048", "EC-P-256", "Ed25519"... */
static void write_key_type(struct json_writer *w, X509 *x)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char s[96], group[64];
	const char *name, *nist;
	int id;

	if (!pk) {
		jw_null(w);
		return;
	}
	id = EVP_PKEY_get_base_id(pk);
	switch (id) {
	case EVP_PKEY_RSA:
		snprintf(s, sizeof(s), "RSA-%d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_RSA_PSS:
		snprintf(s, sizeof(s), "RSA-PSS-%d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_DSA:
		snprintf(s, sizeof(s), "DSA-%d", EVP_PKEY_get_bits(pk));
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL) != 1) {
			snprintf(s, sizeof(s), "EC");	/* explicit curve parameters */
			break;
		}
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(s, sizeof(s), "EC-%s", nist ? nist : group);
		break;
	case EVP_PKEY_ED25519:
		snprintf(s, sizeof(s), "Ed25519");
		break;
	case EVP_PKEY_ED448:
		snprintf(s, sizeof(s), "Ed448");
		break;
	default:
		name = EVP_PKEY_get0_type_name(pk);
		if (!name)
			name = OBJ_nid2sn(id);
		snprintf(s, sizeof(s), "%s", name ? name : "unknown");
		break;
	}
	jw_str_bytes(w, s, strlen(s));
}

static int cert_state(X509 *x, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	struct json_writer w;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	char fp[2 * EVP_MAX_MD_SIZE + 1];

	if (!X509_digest(x, EVP_sha256(), md, &md_len))
		return -EIO;
	for (unsigned i = 0; i < md_len; i++) {
		fp[2 * i] = hex[md[i] >> 4];
		fp[2 * i + 1] = hex[md[i] & 15];
	}
	fp[2 * md_len] = '\0';
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "subject");
	write_name(&w, X509_get_subject_name(x));
	jw_key(&w, "issuer");
	write_name(&w, X509_get_issuer_name(x));
	jw_key(&w, "serial");
	write_serial(&w, X509_get0_serialNumber(x));
	jw_key(&w, "not_before");
	write_time(&w, X509_get0_notBefore(x));
	jw_key(&w, "not_after");
	write_time(&w, X509_get0_notAfter(x));
	jw_key(&w, "key_type");
	write_key_type(&w, x);
	jw_key(&w, "sha256");
	jw_str(&w, fp);
	jw_obj_close(&w);
	return w.err;
}

/* Reads the file at path (display name, without the root) and adds its certificates. */
static int cert_file(const struct coll_opts *o, const char *path, bool nofollow,
		     struct cert_list *l, struct coll_set *out, struct vg_error *err)
{
	_cleanup_buf_ struct buf key = { 0 };
	_cleanup_buf_ struct buf state = { 0 };
	char full[PATH_MAX], *data = NULL;
	size_t len = 0;
	int r;

	r = coll_path(o, path, full, sizeof(full));
	if (r < 0)
		return vg_error_set(err, r, path, 0, 0, "path too long");
	r = read_whole(full, nofollow, &data, &len);
	if (r == -ENOENT || r == -EINVAL)
		return 0;	/* gone meanwhile, or no regular file */
	if (r == -EFBIG)
		return vg_error_set(err, r, full, 0, 0, "larger than %u MiB", CERT_FILE_MAX >> 20);
	if (r < 0)
		return vg_error_set(err, r, full, 0, 0, "cannot read: %s", strerror(-r));
	if (has_pem_begin(data, len)) {
		r = pem_parse(data, len, l, full, err);
	} else {
		const unsigned char *p = (const unsigned char *)data;
		X509 *x = d2i_X509(NULL, &p, (long)len);

		/* anything else (a DER key, a CRL) is no certificate: passed over */
		if (x)
			l->v[l->n++] = x;
	}
	OPENSSL_cleanse(data, len);	/* a key file's bytes do not linger */
	free(data);
	ERR_clear_error();
	if (r < 0)
		goto out;
	buf_init(&key, 8192);
	buf_init(&state, COLL_STATE_MAX);
	for (size_t i = 0; i < l->n; i++) {
		buf_reset(&key);
		buf_reset(&state);
		r = escape_bytes(&key, path, strlen(path));
		if (r == 0 && l->n > 1)
			r = buf_printf(&key, "#%zu", i + 1);
		if (r == 0)
			r = cert_state(l->v[i], &state);
		if (r == 0)
			r = coll_set_add(out, buf_str(&key), buf_str(&state), NULL);
		if (r == -EEXIST)
			r = 0;	/* the file was named twice (itself and its directory) */
		if (r < 0) {
			r = vg_error_set(err, r, full, 0, 0, "cannot add certificate %zu: %s",
					 i + 1, strerror(-r));
			goto out;
		}
	}
out:
	cert_list_release(l);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cert_dir(const struct coll_opts *o, const char *path, const char *full,
		    struct cert_list *l, struct coll_set *out, struct vg_error *err)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(full);
	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return vg_error_set(err, neg_errno(), full, 0, 0, "cannot read: %s",
				    strerror(errno));
	names = calloc(CERT_DIR_MAX, sizeof(*names));
	if (!names) {
		r = -ENOMEM;
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		/* symlinks are passed over: /etc/ssl/certs would count each certificate two or
		 * three times, and a link may point outside root */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == CERT_DIR_MAX) {
			r = vg_error_set(err, -E2BIG, full, 0, 0, "more than %d files",
					 CERT_DIR_MAX);
			goto out;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		r = vg_error_set(err, neg_errno(), full, 0, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && r == 0; i++) {
		_cleanup_free_ char *p = NULL;
		size_t pl = strlen(path);

		if (asprintf(&p, "%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/",
			     names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = cert_file(o, p, true, l, out, err);
	}
out:
	if (names) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	closedir(d);
	return r;
}

int coll_certificate_collect(const struct coll_opts *o, struct coll_set *out,
			     struct vg_error *err)
{
	struct cert_list *l;
	int r = 0;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_pki_paths && r == 0; i++) {
		const char *path = o->pki_paths[i];
		char full[PATH_MAX];
		struct stat st;

		if (!path || path[0] != '/') {
			r = vg_error_set(err, -EINVAL, NULL, 0, 0,
					 "certificate path '%s' is not absolute", path ? path : "");
			break;
		}
		r = coll_path(o, path, full, sizeof(full));
		if (r < 0) {
			r = vg_error_set(err, r, path, 0, 0, "path too long");
			break;
		}
		/* a configured path is followed when it is a symlink: it was named */
		if (stat(full, &st) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			r = vg_error_set(err, neg_errno(), full, 0, 0, "cannot read: %s",
					 strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			r = cert_dir(o, path, full, l, out, err);
		else if (S_ISREG(st.st_mode))
			r = cert_file(o, path, false, l, out, err);
	}
	free(l);
	coll_set_sort(out);
	return r;
}
