/*
 * ctl.h - the control protocol between clusterctl and clusterd.
 *
 * Spec: docs/protocol.md.  Over a UNIX stream socket every message is a
 * fixed 16-byte header followed by a JSON object:
 *
 *   u32 magic "XRCT" | u16 version | u16 type | u32 length | u32 reserved
 *
 * all big-endian.  A reply has type CTL_REPLY and may carry one file
 * descriptor (SCM_RIGHTS), used by CTL_CONSOLE.  Between nodes the same
 * messages go over mutual TLS (tls.h), built with ctl_encode() and read
 * with ctl_reader_feed_fn().
 */
#ifndef XR_CTL_H
#define XR_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;

#define CTL_MAGIC       0x58524354u	/* "XRCT" */
#define CTL_VERSION     1
/* A config is at most 1 MiB; JSON escaping may grow it, up to 6x for
 * control characters, so the cap leaves room for that. */
#define CTL_MAX_BODY    (6u << 20)
#define CTL_SOCKET      "/run/xenrack/clusterd.sock"
#define CTL_ERR_LEN     256

struct ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t length;	/* bytes of JSON after the header */
	uint32_t reserved;	/* written as zero, must read as zero */
};
_Static_assert(sizeof(struct ctl_hdr) == 16, "ctl_hdr is 16 bytes on the wire");

enum ctl_type {
	CTL_LIST = 1,
	CTL_CREATE,
	CTL_SHUTDOWN,
	CTL_DESTROY,
	CTL_PAUSE,
	CTL_UNPAUSE,
	CTL_CONSOLE,
	CTL_DISKS,
	CTL_DELETE,
	CTL_NODES,
	CTL_MIGRATE,		/* live-migrate a domain; progress, then the reply */
	CTL_TYPE_MAX,		/* requests are below this */
	/* Between nodes only (over TLS, cluster/peer.c); refused locally. */
	CTL_PEER_CHECK = 0x100,
	CTL_PEER_PREPARE,
	CTL_PEER_RELEASE,
	CTL_PEER_FORWARD,	/* a list or domain request, for the receiver's clusterd */
	CTL_PEER_OUTDATE,	/* DRBD's fence-peer: outdate your copy of a resource */
	CTL_PEER_IMAGE,		/* the image store: have you this image? / a piece of it */
	CTL_PEER_MIGRATE,	/* migrate a domain that runs on you (progress, reply) */
	CTL_PEER_MIGRATE_IN,	/* the hello of a migration into you (migrate/mig.h) */
	CTL_PEER_MAX,
	CTL_REPLY = 0x8000,
	CTL_PROGRESS,		/* before the reply: how a long request is going */
};

/** ctl_type_name - "create", "reply"...; NULL for an unknown type */
const char *ctl_type_name(uint16_t type);

/**
 * ctl_encode - build one message, header and body, for any transport
 * @type: message type
 * @body: JSON object (not consumed)
 * @buf:  receives the message (caller frees)
 * @len:  receives its length in bytes
 * @err:  receives what was wrong (CTL_ERR_LEN bytes)
 * Return: 0, -EMSGSIZE for a body over CTL_MAX_BODY, or -ENOMEM.
 */
int ctl_encode(uint16_t type, struct json_object *body, char **buf, size_t *len,
	       char *err);

/**
 * ctl_send - write one message
 * @fd:      connected socket
 * @type:    message type
 * @body:    JSON object (not consumed)
 * @pass_fd: descriptor to pass along, or -1
 * Return: 0, or a negative errno.
 */
int ctl_send(int fd, uint16_t type, struct json_object *body, int pass_fd);

/*
 * An incremental reader, for a daemon that must never block on one client:
 * feed it whenever the socket is readable.
 */
struct ctl_reader {
	struct ctl_hdr hdr;	/* as received (big-endian) */
	char *body;
	uint32_t len;		/* body length, once the header is checked */
	size_t got;		/* bytes of header + body received */
	int fd;			/* a passed descriptor, or -1 */
};

void ctl_reader_init(struct ctl_reader *r);
void ctl_reader_dispose(struct ctl_reader *r);

/**
 * ctl_reader_feed - read what has arrived of one message
 * @r:        the reader
 * @fd:       connected socket
 * @want_fd:  keep a passed descriptor in @r->fd (otherwise close it)
 * @dontwait: don't block (MSG_DONTWAIT); otherwise read until whole
 * @type:     receives the message type
 * @body:     receives the JSON object (caller puts it)
 * @err:      receives what was wrong (CTL_ERR_LEN bytes)
 * Return: 1 when a whole, valid message was read; 0 when more is needed;
 * -EPIPE at a clean end of stream between messages; -EPROTO,
 * -EPROTONOSUPPORT, -EMSGSIZE, -EBADMSG for a bad or truncated message;
 * other negative errno on I/O.
 */
int ctl_reader_feed(struct ctl_reader *r, int fd, bool want_fd, bool dontwait,
		    uint16_t *type, struct json_object **body, char *err);

/**
 * ctl_read_fn - where a reader gets its bytes from, other than a socket
 * @arg: the caller's context
 * @buf: where to put them
 * @len: the most bytes wanted
 * Return: bytes read, 0 at end of stream, -EAGAIN when none are there now,
 * or another negative errno.
 */
typedef ssize_t (*ctl_read_fn)(void *arg, void *buf, size_t len);

/**
 * ctl_reader_feed_fn - ctl_reader_feed() reading with @fn (a TLS session)
 * @r:    the reader; @r->fd is not used
 * @fn:   called until the message is whole, @fn returns -EAGAIN, or fails
 * @arg:  passed to @fn
 * @type: receives the message type
 * @body: receives the JSON object (caller puts it)
 * @err:  receives what was wrong (CTL_ERR_LEN bytes)
 * Return: as ctl_reader_feed(); an error of @fn is returned as it is.
 */
int ctl_reader_feed_fn(struct ctl_reader *r, ctl_read_fn fn, void *arg,
		       uint16_t *type, struct json_object **body, char *err);

/**
 * ctl_recv - read and validate one message
 * @fd:      connected socket
 * @type:    receives the message type
 * @body:    receives the JSON object (caller puts it)
 * @got_fd:  receives a passed descriptor or -1; NULL refuses any
 * @err:     receives a description of what was wrong (CTL_ERR_LEN bytes)
 * Return: 0, or as ctl_reader_feed() but never 1.
 */
int ctl_recv(int fd, uint16_t *type, struct json_object **body, int *got_fd,
	     char *err);

#endif
