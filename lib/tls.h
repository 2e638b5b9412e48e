/*
 * tls.h - node-to-node mutual TLS carrying the control protocol.
 *
 * Each node has a certificate from the cluster CA (docs/trust.md): CN and
 * SAN DNS its node name, SAN IP its address.  Both ends of a connection
 * present theirs, TLS 1.3 only, and each checks the other's against the
 * CA; the client also checks that the server is the node it meant to
 * reach, and the server learns which node the client is.  Over the session
 * go the messages of ctl.h, header and JSON body, one at a time.
 *
 * Every call takes a time limit in milliseconds for the whole call
 * (negative: none); the sockets are made non-blocking and each wait is a
 * poll().  After a failed send or receive the session is of no further
 * use: close it.  The process must ignore SIGPIPE (clusterd does), as
 * OpenSSL writes with plain write().
 */
#ifndef XR_TLS_H
#define XR_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct json_object;

#define XR_TLS_DIR   "/etc/xenrack"	/* where xenrack-enrol writes the files */
#define XR_TLS_PORT  7390

/**
 * xr_tls_ctx - load this node's identity and the cluster CA
 * @dir:    directory with node.crt, node.key and ca.crt (XR_TLS_DIR)
 * @server: true for the accepting side, false for the connecting side
 * @err:    receives "PATH: reason" or what else was wrong (CTL_ERR_LEN bytes)
 *
 * The context speaks TLS 1.3 and nothing else, presents node.crt, and
 * refuses a peer without a certificate from ca.crt.
 * Return: the context (SSL_CTX_free() it), or NULL.
 */
SSL_CTX *xr_tls_ctx(const char *dir, bool server, char *err);

/**
 * xr_tls_connect - connect to a node and check that it is that node
 * @ctx:        a client context from xr_tls_ctx()
 * @addr:       its address: IPv4 or IPv6 literal, or a name to resolve
 * @port:       its port (XR_TLS_PORT)
 * @peer_node:  its node name, which its certificate must carry (SAN DNS)
 * @timeout_ms: for the TCP connect and the handshake together
 * @out:        receives the session (xr_tls_close() it)
 * @err:        receives "NODE (ADDR:PORT): what failed" (CTL_ERR_LEN bytes)
 *
 * Name resolution is not bounded by @timeout_ms; pass a literal address
 * where that matters.  Each address of a name is tried in turn.  In TLS 1.3 the server checks this side's
 * certificate after this side's handshake is done: a refusal shows up on
 * the first xr_tls_recv().
 * Return: 0; -ETIMEDOUT; -EACCES when the server's certificate is not from
 * the CA or not for @peer_node; -ECONNABORTED for another TLS failure
 * (such as a peer that offers no TLS 1.3); -EINVAL without @peer_node;
 * another negative errno (-ECONNREFUSED...) from the connection.
 */
int xr_tls_connect(SSL_CTX *ctx, const char *addr, uint16_t port,
		   const char *peer_node, int timeout_ms, SSL **out, char *err);

/**
 * xr_tls_accept - the server handshake on an accepted connection
 * @ctx:        a server context from xr_tls_ctx()
 * @fd:         the accepted socket; on success it belongs to *@out
 * @timeout_ms: for the handshake
 * @out:        receives the session (xr_tls_close() it)
 * @peer_node:  receives the client's node name: the CN of its certificate,
 *              which must also be one of its SAN DNS names
 * @peer_len:   size of @peer_node
 * @err:        receives "ADDR:PORT: what failed" (CTL_ERR_LEN bytes)
 * Return: 0; -ETIMEDOUT; -EACCES for a client without a certificate from
 * the CA or whose certificate names no node; -ECONNABORTED for another TLS
 * failure; another negative errno.  On failure @fd is still the caller's
 * to close.
 */
int xr_tls_accept(SSL_CTX *ctx, int fd, int timeout_ms, SSL **out,
		  char *peer_node, size_t peer_len, char *err);

/**
 * xr_tls_send - write one message
 * @ssl:        the session
 * @type:       message type
 * @body:       JSON object (not consumed)
 * @timeout_ms: for the whole message
 * @err:        receives what was wrong (CTL_ERR_LEN bytes)
 * Return: 0; -EMSGSIZE for a body over CTL_MAX_BODY; -ETIMEDOUT;
 * -ECONNABORTED for a TLS failure; another negative errno.
 */
int xr_tls_send(SSL *ssl, uint16_t type, struct json_object *body,
		int timeout_ms, char *err);

/**
 * xr_tls_recv - read and validate one message
 * @ssl:        the session
 * @type:       receives the message type
 * @body:       receives the JSON object (caller puts it)
 * @timeout_ms: for the whole message
 * @err:        receives what was wrong (CTL_ERR_LEN bytes)
 * Return: 0; -ETIMEDOUT; -ECONNABORTED for a TLS failure (the peer's
 * alert when it refused this side's certificate); -EILSEQ when the peer
 * said what we sent arrived corrupted (bad record MAC: it acted on none
 * of it); otherwise as
 * ctl_recv(): -EPIPE at a clean end between messages, -EPROTO,
 * -EPROTONOSUPPORT, -EMSGSIZE, -EBADMSG for a bad message.
 */
int xr_tls_recv(SSL *ssl, uint16_t *type, struct json_object **body,
		int timeout_ms, char *err);

/**
 * xr_tls_write - write @len bytes as they are (a stream's own framing)
 * Return: 0; -ETIMEDOUT; -EPIPE when the peer closed; -ECONNABORTED for a
 * TLS failure; another negative errno.
 */
int xr_tls_write(SSL *ssl, const void *buf, size_t len, int timeout_ms, char *err);

/**
 * xr_tls_read - read exactly @len bytes
 * Return: 0; -EPIPE when the peer closed first (@err says after how many
 * bytes); -ETIMEDOUT; -ECONNABORTED or -EILSEQ as xr_tls_recv().
 */
int xr_tls_read(SSL *ssl, void *buf, size_t len, int timeout_ms, char *err);

/**
 * xr_tls_close - end the session, free it and close its socket
 * @ssl: the session, or NULL
 *
 * Sends close_notify if the socket takes it now; never waits.
 */
void xr_tls_close(SSL *ssl);

#endif
