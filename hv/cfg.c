/*
 * cfg.c - the generic layer of the domain config parser.
 *
 * Reads the subset of Python that xm configs (xmexample1) and xl.cfg share:
 *
 *   file      := { statement } EOF
 *   statement := [ KEY "=" value ] [ "#" comment ] ( NEWLINE | ";" )
 *   value     := STRING | INTEGER | True | False
 *              | "[" [ value { "," value } [ "," ] ] "]"   (may span lines)
 *
 * Strings are quoted with ' or " and know the escapes \\ \' \" \n \t.
 * Anything else that Python would accept (def, if, import, expressions,
 * %-formatting, xm_vars) is refused with a message naming the line, because
 * guessing at the meaning of a script is worse than saying no.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

/* ---- diagnostics ---- */

void hv_diag_init(struct hv_diag *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = strdup(file ? file : "<config>");
}

void hv_diag_dispose(struct hv_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

void hv_diag_vadd(struct hv_diag *d, enum hv_severity sev, unsigned line,
		  unsigned col, const char *fmt, va_list ap)
{
	struct hv_diag_msg *v;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v || !msg) {
		free(msg);
		/* Out of memory: keep counting so the caller still fails. */
		if (v)
			d->v = v;
		if (sev == HV_ERROR)
			d->nerrors++;
		return;
	}
	d->v = v;
	d->v[d->n] = (struct hv_diag_msg){ sev, line, col, msg, (unsigned)d->n };
	d->n++;
	if (sev == HV_ERROR)
		d->nerrors++;
}

void hv_diag_add(struct hv_diag *d, enum hv_severity sev, unsigned line,
		 unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hv_diag_vadd(d, sev, line, col, fmt, ap);
	va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct hv_diag_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void hv_diag_sort(struct hv_diag *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), diag_cmp);
}

void hv_diag_print(const struct hv_diag *d, FILE *out)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct hv_diag_msg *m = &d->v[i];
		const char *sev = m->sev == HV_ERROR ? "error" : "warning";

		if (m->line)
			fprintf(out, "%s:%u:%u: %s: %s\n", d->file, m->line,
				m->col, sev, m->msg);
		else
			fprintf(out, "%s: %s: %s\n", d->file, sev, m->msg);
	}
}

/* ---- the store ---- */

void hv_cfg_init(struct hv_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

static void value_dispose(struct hv_cfg_value *v)
{
	size_t i;

	switch (v->kind) {
	case HV_CFG_STRING:
		free(v->u.s);
		break;
	case HV_CFG_LIST:
		for (i = 0; i < v->u.list.n; i++)
			value_dispose(&v->u.list.items[i]);
		free(v->u.list.items);
		break;
	default:
		break;
	}
	memset(v, 0, sizeof(*v));
}

void hv_cfg_dispose(struct hv_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n; i++) {
		free(cfg->v[i].key);
		value_dispose(&cfg->v[i].val);
	}
	free(cfg->v);
	memset(cfg, 0, sizeof(*cfg));
}

struct hv_cfg_entry *hv_cfg_find(struct hv_cfg *cfg, const char *key)
{
	size_t i;

	for (i = cfg->n; i-- > 0;)
		if (!strcmp(cfg->v[i].key, key))
			return &cfg->v[i];
	return NULL;
}

/* ---- the lexer ---- */

struct lex {
	const char *p, *end;
	unsigned line, col;
	struct hv_diag *diag;
	bool failed;
};

static const char *const python_words[] = {
	"and", "as", "assert", "break", "class", "continue", "def", "del",
	"elif", "else", "except", "exec", "finally", "for", "from", "global",
	"if", "import", "in", "is", "lambda", "not", "or", "pass", "print",
	"raise", "return", "try", "while", "with", "yield", NULL,
};

static void lex_error(struct lex *lx, unsigned line, unsigned col,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void lex_error(struct lex *lx, unsigned line, unsigned col,
		      const char *fmt, ...)
{
	va_list ap;

	if (lx->failed)
		return;
	lx->failed = true;
	va_start(ap, fmt);
	hv_diag_vadd(lx->diag, HV_ERROR, line, col, fmt, ap);
	va_end(ap);
}

static int peek(const struct lex *lx)
{
	return lx->p < lx->end ? (unsigned char)*lx->p : EOF;
}

static void advance(struct lex *lx)
{
	if (lx->p >= lx->end)
		return;
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->p++;
}

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* Skip blanks and a comment, but not the newline. */
static void skip_blank(struct lex *lx)
{
	for (;;) {
		int c = peek(lx);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\f')
			advance(lx);
		else if (c == '#')
			while (peek(lx) != EOF && peek(lx) != '\n')
				advance(lx);
		else
			return;
	}
}

/* Inside brackets newlines are blanks too. */
static void skip_space(struct lex *lx)
{
	for (;;) {
		skip_blank(lx);
		if (peek(lx) != '\n')
			return;
		advance(lx);
	}
}

static char *lex_ident(struct lex *lx)
{
	const char *start = lx->p;

	while (is_ident(peek(lx)))
		advance(lx);
	return strndup(start, (size_t)(lx->p - start));
}

static bool is_python_word(const char *w)
{
	size_t i;

	for (i = 0; python_words[i]; i++)
		if (!strcmp(python_words[i], w))
			return true;
	return false;
}

static void python_refused(struct lex *lx, unsigned line, unsigned col,
			   const char *what)
{
	lex_error(lx, line, col,
		  "%s: Python code is not supported; xm configs were Python "
		  "scripts, but xenrack reads only 'key = value' lines",
		  what);
}

static int lex_string(struct lex *lx, struct hv_cfg_value *v)
{
	int quote = peek(lx);
	size_t len = 0, cap = 32;
	char *buf;

	if (lx->end - lx->p >= 3 && lx->p[1] == quote && lx->p[2] == quote) {
		python_refused(lx, lx->line, lx->col, "triple-quoted string");
		return -EINVAL;
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	advance(lx);
	for (;;) {
		int c = peek(lx);

		if (c == EOF || c == '\n') {
			lex_error(lx, v->line, v->col,
				  "unterminated string: no closing %c on this line",
				  quote);
			free(buf);
			return -EINVAL;
		}
		if (c == quote) {
			advance(lx);
			break;
		}
		if (c == '\0') {
			lex_error(lx, lx->line, lx->col, "NUL byte in string");
			free(buf);
			return -EINVAL;
		}
		if (c == '\\') {
			unsigned l = lx->line, col = lx->col;

			advance(lx);
			switch (peek(lx)) {
			case '\\': c = '\\'; break;
			case '\'': c = '\''; break;
			case '"':  c = '"'; break;
			case 'n':  c = '\n'; break;
			case 't':  c = '\t'; break;
			default:
				lex_error(lx, l, col,
					  "unsupported escape in string; use \\\\ \\' \\\" \\n or \\t");
				free(buf);
				return -EINVAL;
			}
		}
		if (len + 2 > cap) {
			char *nb;

			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		buf[len++] = (char)c;
		if (len > HV_CFG_MAX_STR) {
			lex_error(lx, v->line, v->col,
				  "string longer than %u bytes", HV_CFG_MAX_STR);
			free(buf);
			return -EINVAL;
		}
		advance(lx);
	}
	buf[len] = '\0';
	v->kind = HV_CFG_STRING;
	v->u.s = buf;
	return 0;
}

static int lex_number(struct lex *lx, struct hv_cfg_value *v)
{
	const char *start = lx->p;
	char tmp[32];
	size_t n;
	char *endp;
	long long val;

	if (peek(lx) == '-' || peek(lx) == '+')
		advance(lx);
	while (is_ident(peek(lx)) || peek(lx) == '.')
		advance(lx);
	n = (size_t)(lx->p - start);
	if (memchr(start, '.', n)) {
		lex_error(lx, v->line, v->col,
			  "'%.*s': expected an integer, not a floating-point number",
			  (int)(n > 20 ? 20 : n), start);
		return -EINVAL;
	}
	if (n >= sizeof(tmp))
		goto bad;
	memcpy(tmp, start, n);
	tmp[n] = '\0';
	errno = 0;
	val = strtoll(tmp, &endp, 0);
	/* Python 3 has no leading-zero octal; refuse 010 rather than guess. */
	if (*endp || errno || endp == tmp)
		goto bad;
	{
		const char *digits = tmp + (*tmp == '-' || *tmp == '+');

		if (digits[0] == '0' && digits[1] && digits[1] != 'x' &&
		    digits[1] != 'X')
			goto bad;
	}
	v->kind = HV_CFG_INT;
	v->u.i = val;
	return 0;
bad:
	lex_error(lx, v->line, v->col, "'%.*s': not a valid integer",
		  (int)(n > 20 ? 20 : n), start);
	return -EINVAL;
}

static int parse_value(struct lex *lx, struct hv_cfg_value *v, int depth);

static int parse_list(struct lex *lx, struct hv_cfg_value *v, int depth)
{
	size_t cap = 0;
	int rc;

	v->kind = HV_CFG_LIST;
	v->u.list.items = NULL;
	v->u.list.n = 0;
	advance(lx);	/* '[' */
	for (;;) {
		struct hv_cfg_value *item;

		skip_space(lx);
		if (peek(lx) == ']') {
			advance(lx);
			return 0;
		}
		if (peek(lx) == EOF) {
			lex_error(lx, v->line, v->col,
				  "list opened here is never closed with ']'");
			return -EINVAL;
		}
		if (v->u.list.n >= HV_CFG_MAX_LIST) {
			lex_error(lx, lx->line, lx->col,
				  "list has more than %u items", HV_CFG_MAX_LIST);
			return -EINVAL;
		}
		if (v->u.list.n == cap) {
			struct hv_cfg_value *ni;

			cap = cap ? cap * 2 : 4;
			ni = realloc(v->u.list.items, cap * sizeof(*ni));
			if (!ni)
				return -ENOMEM;
			v->u.list.items = ni;
		}
		item = &v->u.list.items[v->u.list.n];
		memset(item, 0, sizeof(*item));
		item->kind = HV_CFG_INT;	/* nothing to free yet */
		rc = parse_value(lx, item, depth + 1);
		v->u.list.n++;
		if (rc)
			return rc;
		skip_space(lx);
		if (peek(lx) == ',') {
			advance(lx);
			continue;
		}
		if (peek(lx) == ']')
			continue;
		if (peek(lx) == EOF) {
			lex_error(lx, v->line, v->col,
				  "list opened here is never closed with ']'");
		} else if (peek(lx) == '\'' || peek(lx) == '"') {
			lex_error(lx, lx->line, lx->col,
				  "expected ',' between list items");
		} else {
			lex_error(lx, lx->line, lx->col,
				  "expected ',' or ']' in list, found '%c'",
				  peek(lx));
		}
		return -EINVAL;
	}
}

static int parse_value(struct lex *lx, struct hv_cfg_value *v, int depth)
{
	int c = peek(lx);

	v->line = lx->line;
	v->col = lx->col;
	if (c == '\'' || c == '"')
		return lex_string(lx, v);
	if (c == '-' || c == '+' || (c >= '0' && c <= '9'))
		return lex_number(lx, v);
	if (c == '[') {
		if (depth > 0) {
			lex_error(lx, lx->line, lx->col,
				  "nested lists are not supported");
			return -EINVAL;
		}
		return parse_list(lx, v, depth);
	}
	if (is_ident_start(c)) {
		char *w = lex_ident(lx);
		int rc = 0;

		if (!w)
			return -ENOMEM;
		if (!strcmp(w, "True") || !strcmp(w, "False")) {
			v->kind = HV_CFG_BOOL;
			v->u.b = w[0] == 'T';
		} else if (!strcmp(w, "true") || !strcmp(w, "false")) {
			lex_error(lx, v->line, v->col,
				  "'%s': booleans are written True or False (or 1 or 0)", w);
			rc = -EINVAL;
		} else if (!strcmp(w, "None")) {
			lex_error(lx, v->line, v->col,
				  "None is not a value; leave the key out instead");
			rc = -EINVAL;
		} else {
			lex_error(lx, v->line, v->col,
				  "'%s': variables are not supported; write the value itself (a quoted string, a number, True or False)",
				  w);
			rc = -EINVAL;
		}
		free(w);
		return rc;
	}
	if (c == '(' || c == '{') {
		python_refused(lx, v->line, v->col,
			       c == '(' ? "tuple or expression" : "dictionary");
		return -EINVAL;
	}
	if (c == EOF || c == '\n')
		lex_error(lx, v->line, v->col, "expected a value after '='");
	else
		lex_error(lx, v->line, v->col,
			  "expected a value (a quoted string, a number, True, False or a [list]), found '%c'",
			  c);
	return -EINVAL;
}

static int add_entry(struct hv_cfg *cfg, char *key, unsigned line,
		     unsigned col, struct hv_cfg_value *val)
{
	struct hv_cfg_entry *v = realloc(cfg->v, (cfg->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	cfg->v = v;
	cfg->v[cfg->n++] = (struct hv_cfg_entry){
		.key = key, .line = line, .col = col, .val = *val,
	};
	return 0;
}

static int parse_statement(struct lex *lx, struct hv_cfg *cfg)
{
	struct hv_cfg_value val = { .kind = HV_CFG_INT };
	struct hv_cfg_entry *prev;
	unsigned line = lx->line, col = lx->col;
	char *key;
	int c, rc;

	if (!is_ident_start(peek(lx))) {
		c = peek(lx);
		if (c == '@' || c == '(' || c == '[')
			python_refused(lx, line, col, "expression");
		else if (c == '\\')
			lex_error(lx, line, col, "line continuation with '\\' is not supported");
		else if (c == '\0')
			lex_error(lx, line, col, "NUL byte in config");
		else if (c >= 0x20 && c < 0x7f)
			lex_error(lx, line, col,
				  "expected a key (a name such as 'memory'), found '%c'", c);
		else
			lex_error(lx, line, col,
				  "expected a key (a name such as 'memory'), found byte 0x%02x", c);
		return -EINVAL;
	}
	key = lex_ident(lx);
	if (!key)
		return -ENOMEM;
	if (is_python_word(key)) {
		python_refused(lx, line, col, key);
		free(key);
		return -EINVAL;
	}
	skip_blank(lx);
	c = peek(lx);
	if (c != '=' || (lx->p + 1 < lx->end && lx->p[1] == '=')) {
		if (!strcmp(key, "xm_vars"))
			python_refused(lx, line, col, "xm_vars");
		else if (c == '(' || c == '.' || c == '[')
			python_refused(lx, line, col, key);
		else if (c == '+' || c == '-' || c == '*' || c == '/' ||
			 c == '%' || c == '|' || c == '&')
			python_refused(lx, lx->line, lx->col,
				       "augmented assignment");
		else if (c == EOF || c == '\n')
			lex_error(lx, line, col, "'%s' has no '= value'", key);
		else
			lex_error(lx, lx->line, lx->col,
				  "expected '=' after '%s'", key);
		free(key);
		return -EINVAL;
	}
	advance(lx);
	skip_blank(lx);
	rc = parse_value(lx, &val, 0);
	if (rc)
		goto fail;
	skip_blank(lx);
	c = peek(lx);
	if (c == '%' || c == '+' || c == '*' || c == '.' || c == '(' ||
	    c == '-' || c == '/') {
		python_refused(lx, lx->line, lx->col, c == '%' ?
			       "%-formatting" : "expression");
		rc = -EINVAL;
		goto fail;
	}
	if (c == ',') {
		python_refused(lx, lx->line, lx->col, "tuple");
		rc = -EINVAL;
		goto fail;
	}
	if (c != EOF && c != '\n' && c != ';') {
		lex_error(lx, lx->line, lx->col,
			  "unexpected '%c' after the value of '%s'", c, key);
		rc = -EINVAL;
		goto fail;
	}
	prev = hv_cfg_find(cfg, key);
	if (prev)
		hv_diag_add(lx->diag, HV_WARNING, line, col,
			    "'%s' set again (first set on line %u); the later value wins",
			    key, prev->line);
	rc = add_entry(cfg, key, line, col, &val);
	if (rc)
		goto fail;
	return 0;
fail:
	free(key);
	value_dispose(&val);
	return rc;
}

int hv_cfg_parse(struct hv_cfg *cfg, const char *text, size_t len,
		 struct hv_diag *diag)
{
	struct lex lx = {
		.p = text, .end = text + len, .line = 1, .col = 1, .diag = diag,
	};
	int rc;

	if (len > HV_CFG_MAX_BYTES) {
		hv_diag_add(diag, HV_ERROR, 0, 0,
			    "config is %zu bytes; at most %u are accepted",
			    len, HV_CFG_MAX_BYTES);
		return -EINVAL;
	}
	/* A UTF-8 byte-order mark is harmless; skip it. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		lx.p += 3;
	for (;;) {
		skip_blank(&lx);
		switch (peek(&lx)) {
		case EOF:
			return 0;
		case '\n':
		case ';':
			advance(&lx);
			continue;
		}
		rc = parse_statement(&lx, cfg);
		if (rc) {
			if (rc == -ENOMEM)
				hv_diag_add(diag, HV_ERROR, 0, 0, "out of memory");
			return rc == -ENOMEM ? rc : -EINVAL;
		}
	}
}
