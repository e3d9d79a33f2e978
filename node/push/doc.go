// Package push delivers a requester node's query events to the
// institution's business systems (docs/api.md, "Push delivery"): each
// provider's part of a query as it completes, the merged result, later
// changes to a finished query (a late answer, a late request given up, an
// answer recovered by reconciliation) and changes of a billed entry's
// reconciliation state (matched, recovered, disputed, reversed by an upheld
// dispute) and of the state of each dispute the node filed (node/dispute).
// Destinations are signed HTTPS webhooks (Webhook, verified on
// the receiving side with Verifier) and NATS JetStream subjects
// (JetStream).
//
// Events are journaled in the node's bbolt file by RecordTx, inside the
// read-write transaction that records the change itself (node/requester
// calls it through its Config.Recorded hook): a crash keeps the change and
// its event together or neither, so a kill -9 can neither lose an event nor
// invent one. Buckets: "push/events" holds each event once, under a
// sequence number in recording order; "push/pending/<destination>" and
// "push/dead/<destination>" hold, per destination, the sequence numbers
// still to deliver and the events given up on; "push/streams" holds each
// stream's last stream sequence until the requester prunes the query or
// the entry's period (PruneTx).
//
// Each destination delivers its pending events one at a time in recording
// order, so the events of one query arrive in the order they were recorded.
// An event leaves the queue when the receiver acknowledges it (a 2xx
// response, a JetStream publish acknowledgement). A failed delivery is
// retried with exponential back-off and jitter drawn from Config.Rand; an
// event the receiver refuses for good (ErrRejected) or that failed
// Config.MaxAttempts times moves to the dead store, where it is listed
// (Dead) and can be put back in the queue (Replay) in its original place.
//
// What it promises: at least once. Every delivery of an event carries the
// same event id (the idempotency key, derived from the node's MSP id, the
// stream and the stream sequence) and the same content; a crash between a
// receiver's acknowledgement and the journal's commit, or a lost response,
// delivers the event again, and the receiver discards the copy by its event
// id (JetStream does so itself within its duplicate window, through the
// Nats-Msg-Id header). What it does not promise: order across streams, or
// order within a stream after an event died (its stream_sequence leaves a
// gap until Replay fills it). Failed attempts are counted in the pending
// entry, so a restart does not give a failing event MaxAttempts afresh;
// Replay does. Events carry query
// results as the business API shows them and never an identifier: the node
// does not store identifiers (docs/node-requester.md), items are named by
// their index in the request.
package push
