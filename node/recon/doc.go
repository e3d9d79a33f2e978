// Package recon serves and runs reconciliations: two institutions' nodes
// compare whole lists with the streamed, verifiable ECDH-PSI of psi/ecdh
// (docs/protocol/ecdh.md, "Reconciliation"), over the peer transport
// (node/peer), as docs/reconciliation.md describes.
//
// The requester drives: it opens the reconciliation (ReconOpen), the
// responder checks its policy (node.yaml reconcile:) before any work and
// completes the psi/transcript ReconHeader with its list's size and its key
// commitment; both sign the header (ReconSign), then the requester pulls
// the responder's masked chunks and pushes its returns and its own masked
// chunks, one ReconStep per chunk. Every chunk is recorded in the signed
// ReconTranscript each node keeps, and every returned exponentiation is
// checked against its proof as it arrives, so a wrong chunk ends the
// reconciliation at once with ErrPeerChunk.
//
// Each side's matched rows are streamed to a result file under
// Config.Dir as they are learned; the intersection is never held in
// memory. The lists themselves are read into memory (identifiers only).
//
// A step whose answer is lost with the connection is sent again and
// answered from the responder's last answer, so a dropped connection does
// not restart the reconciliation. Each side saves its state in node.db
// (Config.DB) at every step, the requester before it sends, the responder
// before it answers, so either side resumes after a crash from its last
// step (Node.Resume, Node.ResumeAll; a responder revives a saved
// reconciliation when its next step arrives). A reconciliation answered to
// the end is billed through Config.Bill (JournalBill: the provider's
// outbox, exactly once across a crash with Rebill; docs/reconciliation.md,
// "Accounting"). What it does not do yet: share labels between the sides.
package recon
