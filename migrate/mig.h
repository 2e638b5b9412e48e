/*
 * mig.h - live migration of a paravirtual domain between two nodes: the
 * wire protocol both ends speak (docs/migration.md), the precopy policy,
 * the stream check, and the two workers.
 *
 * A migration is one TLS 1.3 connection from the source node to the
 * target's peer port (lib/tls.h: both node certificates checked, the
 * target's node name too).  It opens with one control message,
 * CTL_PEER_MIGRATE_IN (lib/ctl.h), whose JSON body is the hello: protocol
 * version, domain, its libxl configuration, its DRBD resources.  The
 * target checks all of it and answers with a plain reply; only after an
 * "ok" does any domain data flow.  From then on both ends speak frames:
 *
 *   u32 magic "XRMG" | u16 type | u16 flags (0) | u32 length | body
 *
 * all big-endian.  CHUNK frames carry the save stream as it is (a libxl v2
 * stream: libxl header, LIBXC_CONTEXT, the libxc stream, END), ZCHUNK
 * frames the same compressed with zstd; the others carry a JSON object.
 * The order is fixed:
 *
 *   source -> target   CHUNK/ZCHUNK...  END {bytes, sha256}
 *   target -> source   RECEIVED {domid}     (restored, paused)
 *   source -> target   COMMIT
 *   target -> source   DONE                 (unpaused: it runs there now)
 *
 * Either side may send ABORT {error} instead of its next frame.  Before
 * COMMIT the target discards its copy and the source resumes its own;
 * the target unpauses only on COMMIT, so at every moment one copy runs.
 */
#ifndef XR_MIG_H
#define XR_MIG_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct clu_daemon;
struct ssl_st;

#define MIG_VERSION      1
#define MIG_MAGIC        0x58524d47u	/* "XRMG" */
#define MIG_HDR_LEN      12
#define MIG_CHUNK_MAX    (1u << 20)	/* stream bytes in one CHUNK */
#define MIG_ZCHUNK_MAX   (MIG_CHUNK_MAX + (MIG_CHUNK_MAX >> 7) + 4096)	/* > ZSTD bound */
#define MIG_JSON_MAX     (64u << 10)
#define MIG_PAGE         4096u

enum mig_frame {
	MIG_CHUNK = 1,
	MIG_ZCHUNK,
	MIG_END,
	MIG_RECEIVED,
	MIG_COMMIT,
	MIG_DONE,
	MIG_ABORT,
	MIG_FRAME_MAX,
};

/** mig_errf - format a message for the user into @buf; returns @rc */
int mig_errf(char *buf, size_t len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** mig_reason - the "error" of an abort frame or a refusing reply */
const char *mig_reason(struct json_object *o);

/** mig_frame_name - "chunk", "end" ...; "?" for another number */
const char *mig_frame_name(unsigned type);

/**
 * mig_hdr_parse - check a frame header and give its type and length
 * @want: a bit (1 << type) for each frame type allowed here
 * Return: 0, or -EPROTO (magic, flags, a type not allowed now) or
 * -EMSGSIZE (longer than that type may be), with @err saying which field.
 */
int mig_hdr_parse(const uint8_t hdr[MIG_HDR_LEN], unsigned want, unsigned *type,
		  uint32_t *len, char *err);
/** mig_hdr_make - the header of a frame */
void mig_hdr_make(uint8_t hdr[MIG_HDR_LEN], unsigned type, uint32_t len);

/** mig_send_json / mig_send_raw / mig_recv - one frame over the session */
int mig_send_json(struct ssl_st *ssl, unsigned type, struct json_object *o, int timeout_ms,
		  char *err);
int mig_send_raw(struct ssl_st *ssl, unsigned type, const void *buf, uint32_t len,
		 int timeout_ms, char *err);
/**
 * mig_recv - read one frame allowed by @want
 * @buf: at least MIG_ZCHUNK_MAX bytes, for the body; JSON frames are also
 *       parsed into *@o (caller puts it), NUL-terminated in @buf
 * Return: 0, or a negative errno with @err naming what was wrong.
 */
int mig_recv(struct ssl_st *ssl, unsigned want, unsigned *type, uint8_t *buf, uint32_t *len,
	     struct json_object **o, int timeout_ms, char *err);

/* ---- the stream check: the receiver's look at every byte before libxl ---- */

/*
 * A libxl v2 stream of a PV domain: the libxl header, then libxl records;
 * LIBXC_CONTEXT is followed by the libxc stream (its image header, its
 * domain header, its records up to its own END), then libxl records again
 * up to libxl's END.  Every header is checked: magic, version, options,
 * domain type, page size, record types and lengths.  Nothing may follow
 * the final END.
 */
struct mig_sv {
	int phase;		/* where in the stream */
	uint8_t hdr[24];	/* a header being gathered */
	size_t hlen, need;	/* bytes of it gathered, bytes it has */
	uint64_t skip;		/* record body (and padding) still to pass */
	uint32_t rtype;		/* the record being passed */
	uint64_t off;		/* bytes seen */
	uint64_t pages;		/* pages in PAGE_DATA records */
	unsigned records;
};

void mig_sv_init(struct mig_sv *sv);
/**
 * mig_sv_feed - check the next @len bytes of the stream
 * Return: 0, or -EBADMSG with @err naming the byte offset and the field.
 */
int mig_sv_feed(struct mig_sv *sv, const uint8_t *p, size_t len, char *err);
/** mig_sv_done - true when the stream ended with libxl's END record */
bool mig_sv_done(const struct mig_sv *sv);

/** mig_stream_head - the libxl header and LIBXC_CONTEXT record (24 bytes) */
void mig_stream_head(uint8_t out[24]);
/** mig_stream_tail - libxl's END record (8 bytes) */
void mig_stream_tail(uint8_t out[8]);

/* ---- the two halves of the transport (transport.c): threads ---- */

#define MIG_FAULT_AT (8u << 20)	/* where a stream fault strikes: byte 8 MiB */

/* Bytes from @in (the save's pipe) as frames on @ssl, then END. */
struct mig_pump {
	int in;				/* closed by the pump after a failure */
	struct ssl_st *ssl;
	bool compress;			/* ZCHUNK frames */
	uint64_t bandwidth;		/* bytes per second on the wire, 0: no limit */
	const char *fault;		/* "corrupt", "truncate" (tests), or "" */
	const volatile sig_atomic_t *cancel;
	atomic_uint_fast64_t stream_bytes, wire_bytes;
	unsigned char sha[32];		/* of the stream, once sent */
	int rc;
	char err[256];
};
void *mig_pump(void *pump);

/* Frames from @ssl, checked, into @out (closed at the end), until END. */
struct mig_feed {
	struct ssl_st *ssl;
	int out;
	bool check;			/* the save-stream check (off: any bytes) */
	const char *fault;		/* "receiver-dies" (tests), or "" */
	uint64_t bytes;
	struct mig_sv sv;
	int64_t end_ms;			/* when END arrived, checked */
	int rc;
	char err[256];
};
void *mig_feed(void *feed);

/* ---- the precopy policy ---- */

struct mig_policy {
	int downtime_ms;	/* the target: stop when what is left fits */
	int max_rounds;		/* give up after this many rounds */
	bool throttle;		/* cap the guest's CPU when it dirties too fast */
	uint64_t mem_pages;	/* the domain's pages, to bound the total sent */
};

#define MIG_DOWNTIME_MS   300
#define MIG_MAX_ROUNDS    30
#define MIG_CAPS          { 50, 25, 12, 6 }	/* credit2 caps, % of a CPU, in turn */

enum mig_verdict {
	MIG_GO_ON,		/* send another round */
	MIG_STOP_AND_COPY,	/* suspend, send the rest */
	MIG_THROTTLE,		/* send another round, the guest capped at .cap */
	MIG_GIVE_UP,		/* it does not converge: the domain stays here */
};

/* What the policy knows after each round. */
struct mig_round {
	unsigned round;		/* 1... */
	uint64_t dirty;		/* pages this round is to send */
	uint64_t sent_pages;	/* pages sent in all rounds before it */
	int64_t send_ms;	/* how long the round before it took */
	uint64_t last_dirty;	/* pages the round before it sent */
};

struct mig_state {
	struct mig_policy p;
	double rate;		/* pages per ms, measured */
	int stalled;		/* rounds in a row without progress */
	int cap_step;		/* caps applied so far */
	int cap;		/* current cap, 0 for none */
	int64_t projected_ms;	/* of the last decision */
	char why[160];		/* for GIVE_UP and STOP_AND_COPY */
};

void mig_policy_init(struct mig_state *s, const struct mig_policy *p);
/** mig_policy_decide - what to do before sending round @r */
enum mig_verdict mig_policy_decide(struct mig_state *s, const struct mig_round *r);

/* ---- the workers (send.c, recv.c) ---- */

/* Where the sender's progress goes: clusterctl's socket or a peer's TLS. */
struct mig_sink {
	int fd;			/* a control socket, or -1 */
	struct ssl_st *ssl;	/* else a TLS session */
};

struct mig_opts {
	char domain[64];
	char to[64];
	struct mig_policy policy;
	bool compress;
	uint64_t bandwidth;	/* bytes per second, 0: no limit */
	char fault[24];		/* test only: docs/migration.md, "Fault injection" */
};

/**
 * mig_opts_from_json - the options of a migrate request, each checked
 * Return: 0, or -EINVAL naming the field in @err.
 */
int mig_opts_from_json(struct mig_opts *o, struct json_object *req, char *err);
/** mig_opts_to_json - the same request again (a relay to the source node) */
struct json_object *mig_opts_to_json(const struct mig_opts *o);
/** mig_fault_ok - @name is a known fault (or empty) */
bool mig_fault_ok(const char *name);

/**
 * mig_send - migrate domain @o->domain from this node to @o->to, reporting
 * to @sink (CTL_MIG_PROGRESS messages, then the CTL_REPLY)
 * Runs in its own process (clusterd --migrate-out); 0 when the domain runs
 * on the target, else a negative errno with the domain running here.
 */
int mig_send(struct clu_daemon *d, const struct mig_opts *o, struct mig_sink *sink);

/**
 * mig_save_main - the save process (clusterd --migrate-save @request):
 * xc_domain_save() of the domain into the request's data_fd, each round
 * and the end told on its ctl_fd.  Return: the process's exit status.
 */
int mig_save_main(const char *request);

/**
 * mig_receive - serve a migration into this node (in the peer's child)
 * @hello: the CTL_PEER_MIGRATE_IN body; the reply is sent here
 */
void mig_receive(struct clu_daemon *d, struct ssl_st *ssl, const char *from,
		 struct json_object *hello);

/** MIG_RUN_DIR - marks of migrations under way: NAME.out / NAME.in, a pid */
#define MIG_RUN_DIR "/run/xenrack/migrate"

/**
 * mig_mark - make the mark MIG_RUN_DIR/@domain.@side ("out", "in") with
 * this process's pid, its path into @path (empty on failure); -EBUSY when
 * a live process has it
 */
int mig_mark(const char *domain, const char *side, char *path, size_t len, char *err);

/**
 * mig_cancel - ask the migration of @domain running here to stop
 * Return: 0; -ENOENT when none runs here.
 */
int mig_cancel(const char *domain, char *err);

/**
 * mig_reap - in clusterd's tick: an incoming domain whose receiver died
 * before COMMIT is destroyed and its disks demoted.
 */
void mig_reap(struct clu_daemon *d);

#endif
