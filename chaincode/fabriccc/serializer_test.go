package fabriccc

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/serializer"

	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// TestStringSerializerAnswersAsContractapis runs one sequence of
// transactions, good and bad, through the chaincode as NewChaincode makes
// it and through one with contractapi's default JSON serializer, and
// checks that every response (status, message, payload) is the same: the
// serializer skips a check no string can fail, nothing else.
func TestStringSerializerAnswersAsContractapis(t *testing.T) {
	const requester, responder = ledgertest.Bank1MSP, ledgertest.Bank2MSP
	ours, theirs := newChaincodeRig(t), newChaincodeRig(t)
	theirs.cc.TransactionSerializer = new(serializer.JSONSerializer)

	type call struct {
		msp  string
		args []string
	}
	var calls []call
	add := func(msp, fn string, arg any) {
		b, err := json.Marshal(arg)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call{msp, []string{fn, string(b)}})
	}
	sign := map[string]ecsig.Sign{}
	roles := []chaincode.Role{chaincode.RoleRequester, chaincode.RoleProvider}
	for _, msp := range []string{requester, responder} {
		add(ledgertest.RegulatorMSP, chaincode.FnAddInstitution, chaincode.AddInstitutionArgs{MSPID: msp, Name: msp, Roles: roles})
		key, pub, err := ecsig.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		add(msp, chaincode.FnUpdateProfile, chaincode.Profile{SigningKey: pub})
		sign[msp] = ecsig.NewSigner(key, rand.Reader)
	}
	add(ledgertest.RegulatorMSP, chaincode.FnSetPrice, chaincode.SetPriceArgs{Category: "black", Price: 2})
	add(ledgertest.RegulatorMSP, chaincode.FnRollover, struct{}{})
	var entries []chaincode.Entry
	for seq := uint64(1); seq <= 3; seq++ {
		h := &transcript.Header{
			Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
			Category: "black", Period: 1, Requester: requester, Responder: responder, Sequence: seq, Count: 4,
		}
		e, err := ledgertest.SignedEntry(h, sign[requester], sign[responder], 8, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	entries[2].Amount = 9 // rejected: wrong amount
	add(responder, chaincode.FnRecord, entries)
	add(responder, chaincode.FnRecord, entries) // duplicates
	add(requester, chaincode.FnRecord, entries) // not the responder
	add(requester, chaincode.FnGetEntry, chaincode.EntryKey{Period: 1, Requester: requester, Responder: responder, Sequence: 1})
	calls = append(calls,
		call{responder, []string{chaincode.FnRecord, "not json"}},
		call{responder, []string{chaincode.FnRecord, "[\"\xff\xfe\"]"}},          // invalid UTF-8
		call{responder, []string{chaincode.FnRecord, strings.Repeat("[", 1000)}}, // deep nesting
		call{responder, []string{chaincode.FnRecord}},                            // no argument
		call{responder, []string{chaincode.FnGetPrices, "{}", "extra"}},          // one argument too many
		call{responder, []string{"NoSuchFunction", "{}"}},
		call{responder, []string{"org.hyperledger.fabric:GetMetadata"}},
	)

	recorded := 0
	for i, c := range calls {
		a := ours.invokeArgs(t, c.msp, c.args, true)
		b := theirs.invokeArgs(t, c.msp, c.args, true)
		if a.Status != b.Status || a.Message != b.Message || !bytes.Equal(a.Payload, b.Payload) {
			t.Errorf("call %d %.40q: ours %d %q %.200s, contractapi's %d %q %.200s",
				i, c.args, a.Status, a.Message, a.Payload, b.Status, b.Message, b.Payload)
		}
		recorded += bytes.Count(a.Payload, []byte(`"status":"recorded"`))
	}
	if recorded != 2 {
		t.Fatalf("%d entries recorded, want 2: the sequence does not exercise Record", recorded)
	}
}
