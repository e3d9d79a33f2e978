package outbox_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// A provider journals the entry of an answered exchange, then the submitter
// records it on the ledger. In a node the entry is journaled with PutTx in
// the same transaction as the transcript, and Run runs for the node's life.
func Example() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, _ := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	defer store.Close()
	regulator, _ := store.As(accounting.DefaultRegulator)
	_ = regulator.AddInstitution(ctx, "Bank1MSP", "Bank One", []accounting.Role{accounting.RoleProvider})
	_ = regulator.AddInstitution(ctx, "Bank2MSP", "Bank Two", []accounting.Role{accounting.RoleRequester})
	signers := map[string]ecsig.Sign{}
	for _, msp := range []string{"Bank1MSP", "Bank2MSP"} {
		key, pub, _ := ecsig.GenerateKey(rand.Reader)
		l, _ := store.As(msp)
		_ = l.UpdateProfile(ctx, accounting.Profile{SigningKey: pub})
		signers[msp] = ecsig.NewSigner(key, rand.Reader)
	}
	_ = regulator.SetPrice(ctx, "black", 2)
	_, _ = regulator.Rollover(ctx)

	// The exchange: Bank2 asked Bank1 about 10 identifiers in period 1.
	h := &transcript.Header{Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: "black", Period: 1, Requester: "Bank2MSP", Responder: "Bank1MSP", Sequence: 1, Count: 10}
	header, _ := h.MarshalBinary()
	reqHash, respHash := sha256.Sum256([]byte("request body")), sha256.Sum256([]byte("response body"))
	reqDigest, _ := transcript.RequestDigest(h, reqHash)
	reqSig, _ := transcript.SignRequest(signers["Bank2MSP"], reqDigest)
	respSig, _ := transcript.SignResponse(signers["Bank1MSP"], transcript.ResponseDigest(reqDigest, respHash))

	db, _ := bolt.Open(filepath.Join(dir, "node.db"), 0o600, nil)
	defer db.Close()
	bank1, _ := store.As("Bank1MSP")
	ob, err := outbox.Open(db, outbox.Config{Ledger: bank1})
	if err != nil {
		fmt.Println(err)
		return
	}
	key, err := ob.Put(accounting.Entry{Header: header, RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: reqSig, ResponderSignature: respSig, Amount: 10 * 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pending:", ob.Depth())

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ob.Run(runCtx) }()
	flushCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ob.Flush(flushCtx); err != nil {
		fmt.Println(err)
	}
	stop()
	<-done

	e, _ := bank1.Entry(ctx, key)
	fmt.Println("pending:", ob.Depth(), "recorded amount:", e.Amount)
	// Output:
	// pending: 1
	// pending: 0 recorded amount: 20
}
