// Package outbox is a provider node's durable accounting journal and the
// submitter that drains it to the ledger (docs/architecture.md): the
// provider's node writes an accounting entry to a durable outbox the moment
// it answers.
//
// Entries live in the node's bbolt file under the "outbox/pending" bucket,
// keyed by their ledger entry key, so writing the same exchange twice stores
// it once. PutTx adds an entry inside a caller's read-write transaction: the
// provider commits the transcript, the replay index and the entry together,
// and bbolt's commit (an fsync) makes the entry durable before the answer
// leaves the node.
//
// Run flushes pending entries in batches to accounting.Recorder.Record. An
// entry leaves the journal only on an outcome: recorded or duplicate (the
// ledger already holds an identical entry, e.g. a batch re-sent after a
// crash between the ledger's commit and the journal's) removes it, in the
// node's next journal commit rather than in a commit of its own (Run,
// "Delivery marks": a removal a crash loses costs a duplicate, not a
// second entry); a
// permanent rejection moves it to "outbox/dead" with the ledger's code and
// detail, where it is counted and listed, never dropped, until an operator
// requeues it (Requeue) once the cause is gone. A batch that fails
// as a whole (transport error, ledger down, unknown caller) stays pending and
// is retried with exponential back-off and jitter. Because the ledger's entry
// key is unique and Record is idempotent for identical entries, a crash at
// any point yields each entry on the ledger exactly once.
//
// What it does not promise: order of recording across batches, or that a
// dead entry is ever recorded (an operator decides what to do with it).
package outbox
