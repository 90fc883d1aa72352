// Package client speaks the Serf agent's RPC protocol. It holds the one
// definition of the protocol's wire records, command names and error
// strings, which the agent's RPC server imports too, and RPCClient, the
// Go client the serf CLI commands use to talk to an agent.
//
// # The protocol
//
// A connection is a TCP stream of back-to-back msgpack objects with no
// framing, encoded with NewCodecHandle. Each request is a RequestHeader
// followed, for most commands, by one body record; each reply is a
// ResponseHeader with the request's Seq, followed by a body record for
// the commands that return data. The first request must be a handshake
// (HandshakeRequest with MaxIPCVersion), then an auth when the agent has
// an rpc_auth key. stream, monitor and query replies open a stream: after
// the first header, which says whether it started, every further header
// with the same Seq is followed by one record (MemberEventRecord,
// UserEventRecord, QueryEventRecord, LogRecord or QueryRecord) until stop,
// or for a query until its QueryRecordDone record. The record types are
// the wire format: their field names and types must not change.
//
// Errors the agent reports come back as RemoteError, whose text is the
// agent's string unchanged ("Invalid authentication token"); the ones the
// RPC layer itself produces are the ErrXxx constants.
//
// # Concurrency
//
// An RPCClient is safe for concurrent use. Requests are written under one
// writer lock with increasing Seqs; each waits for its reply on its own
// channel. One reader goroutine reads everything the agent sends and
// hands it on by Seq. It keeps the stream in step even for replies nobody
// waits for any more: a reply that arrives after its call timed out is
// read, body and all, and thrown away, and so are the records the agent
// still sends for a stream after Stop and the repeated refusal the agent
// sends for a request with a body before auth (see ErrAuthRequired). A
// stream that starts after its caller gave up waiting is stopped in the
// background. A reply for a Seq with nothing pending means the client
// has lost track of the stream; the client then closes itself.
//
// Stream, monitor and query records never block the reader. Each stream
// has its own queue of up to 512 records and its own goroutine, which
// sends them to the caller's channel in order, blocking as long as the
// consumer does. When the queue is full, new records are dropped and
// counted (RPCClient.Dropped): a consumer that stops reading loses
// records, never the connection. The channel is closed when the stream
// ends: after Stop or Close, with undelivered records dropped, or after a
// query's done record or the loss of the connection, once the consumer
// has taken what was queued. A channel belongs to the stream it was
// given to until then, and must not be given to another.
//
// Every goroutine belongs to the client: Close closes the connection,
// fails pending calls with an error that is ErrClosed (and reads "client
// closed", as in Serf), stops every stream, and returns once the reader,
// the stream goroutines and any background stop have exited. Stop
// likewise returns after its stream's goroutine has exited and its
// channel is closed.
//
// Config.Timeout bounds dialing, each write, and the wait for the replies
// the agent gives at once. The commands that wait on the cluster (join,
// leave, force-leave, tags and the key commands) are awaited until the
// agent answers or the connection ends.
//
// The package is not a server: the agent implements the other end with
// these types. Nor does it retry or reconnect; a failed connection makes
// a closed client.
package client
