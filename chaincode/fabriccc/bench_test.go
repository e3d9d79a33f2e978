package fabriccc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// invokeStub is what contractapi reads of a transaction: the function and
// its argument, and the creator's serialized identity (for its MSP id),
// over fakeStub's world state. Any other stub method panics (nil
// interface): the adapter must not need it.
type invokeStub struct {
	shim.ChaincodeStubInterface
	state   *fakeStub
	args    []string
	creator []byte
}

func (s *invokeStub) GetFunctionAndParameters() (string, []string) { return s.args[0], s.args[1:] }
func (s *invokeStub) GetCreator() ([]byte, error)                  { return s.creator, nil }
func (s *invokeStub) GetState(key string) ([]byte, error)          { return s.state.GetState(key) }
func (s *invokeStub) PutState(key string, value []byte) error {
	return s.state.PutState(key, value)
}
func (s *invokeStub) GetStateByRange(start, end string) (shim.StateQueryIteratorInterface, error) {
	return s.state.GetStateByRange(start, end)
}
func (s *invokeStub) GetTxID() string { return s.state.GetTxID() }
func (s *invokeStub) SetEvent(name string, payload []byte) error {
	return s.state.SetEvent(name, payload)
}

// chaincodeRig runs transactions through the chaincode as Fabric's peer
// would hand them over, minus the shim's gRPC stream.
type chaincodeRig struct {
	cc       *contractapi.ContractChaincode
	w        *worldState
	creators map[string][]byte
}

func newChaincodeRig(tb testing.TB) *chaincodeRig {
	tb.Helper()
	cc, err := NewChaincode(ledgertest.RegulatorMSP)
	if err != nil {
		tb.Fatal(err)
	}
	return &chaincodeRig{cc: cc, w: &worldState{state: map[string][]byte{}}, creators: map[string][]byte{}}
}

// creator returns a serialized identity of msp with a self-signed
// certificate, made once per MSP.
func (r *chaincodeRig) creator(tb testing.TB, mspID string) []byte {
	tb.Helper()
	if c, ok := r.creators[mspID]; ok {
		return c
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client." + mspID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := proto.Marshal(&msp.SerializedIdentity{
		Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	r.creators[mspID] = c
	return c
}

// invokeArgs runs a transaction of args (the function, then its
// parameters) as mspID and, if commit, applies its writes.
func (r *chaincodeRig) invokeArgs(tb testing.TB, mspID string, args []string, commit bool) *peer.Response {
	tb.Helper()
	r.w.txs++
	st := &fakeStub{w: r.w, txID: "tx" + strconv.Itoa(r.w.txs), writes: map[string][]byte{}}
	res := r.cc.Invoke(&invokeStub{state: st, args: args, creator: r.creator(tb, mspID)})
	if commit && res.Status == shim.OK {
		for k, v := range st.writes {
			r.w.state[k] = v
		}
	}
	return res
}

// must runs fn(arg) as mspID, commits it and fails on an error response.
func (r *chaincodeRig) must(tb testing.TB, mspID, fn string, arg any) {
	tb.Helper()
	b, err := json.Marshal(arg)
	if err != nil {
		tb.Fatal(err)
	}
	if res := r.invokeArgs(tb, mspID, []string{fn, string(b)}, true); res.Status != shim.OK {
		tb.Fatalf("%s as %s: %s", fn, mspID, res.Message)
	}
}

// BenchmarkChaincodeRecord measures one endorsement's work in the
// chaincode process per entry, shim excepted: Record batches through
// contractapi (argument and result handling, client identity) and the
// Fabric state adapter, as BenchmarkRecord in package chaincode measures
// the contract alone. Each batch is one requester's consecutive entries.
func BenchmarkChaincodeRecord(b *testing.B) {
	const requester, responder = ledgertest.Bank1MSP, ledgertest.Bank2MSP
	for _, size := range []int{1, 100, 500} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			r := newChaincodeRig(b)
			roles := []chaincode.Role{chaincode.RoleRequester, chaincode.RoleProvider}
			sign := map[string]ecsig.Sign{}
			for _, msp := range []string{requester, responder} {
				r.must(b, ledgertest.RegulatorMSP, chaincode.FnAddInstitution, chaincode.AddInstitutionArgs{MSPID: msp, Name: msp, Roles: roles})
				key, pub, err := ecsig.GenerateKey(rand.Reader)
				if err != nil {
					b.Fatal(err)
				}
				r.must(b, msp, chaincode.FnUpdateProfile, chaincode.Profile{SigningKey: pub})
				sign[msp] = ecsig.NewSigner(key, rand.Reader)
			}
			r.must(b, ledgertest.RegulatorMSP, chaincode.FnSetPrice, chaincode.SetPriceArgs{Category: "black", Price: 2})
			r.must(b, ledgertest.RegulatorMSP, chaincode.FnRollover, struct{}{})

			args := make([][]byte, b.N)
			seq := uint64(0)
			for i := range args {
				batch := make([]chaincode.Entry, size)
				for j := range batch {
					seq++
					h := &transcript.Header{
						Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
						Category: "black", Period: 1, Requester: requester, Responder: responder, Sequence: seq, Count: 100,
					}
					e, err := ledgertest.SignedEntry(h, sign[requester], sign[responder], 200, rand.Reader)
					if err != nil {
						b.Fatal(err)
					}
					batch[j] = e
				}
				var err error
				if args[i], err = json.Marshal(batch); err != nil {
					b.Fatal(err)
				}
			}
			recorded := []byte(`"status":"recorded"`)
			b.ResetTimer()
			cpu0 := cputime.Self()
			for _, arg := range args {
				// Not committed: each batch is new, as each endorsement's is.
				res := r.invokeArgs(b, responder, []string{chaincode.FnRecord, string(arg)}, false)
				if res.Status != shim.OK {
					b.Fatal(res.Message)
				}
				if n := bytes.Count(res.Payload, recorded); n != size {
					b.Fatalf("%d of %d entries recorded: %.300s", n, size, res.Payload)
				}
			}
			b.ReportMetric(float64((cputime.Self()-cpu0).Nanoseconds())/1e3/float64(b.N*size), "cpu-µs/entry")
		})
	}
}
