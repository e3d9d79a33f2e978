package fabriccc

import (
	"context"
	"crypto/rand"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// worldState imitates a peer's world state with Fabric's transaction
// semantics: a transaction reads committed state only (never its own
// writes), an empty value deletes, and writes apply only if the chaincode
// returns no error.
type worldState struct {
	mu    sync.Mutex
	state map[string][]byte
	txs   int
}

type fakeStub struct {
	w      *worldState
	txID   string
	writes map[string][]byte
	event  string
}

func (s *fakeStub) GetState(key string) ([]byte, error) { return s.w.state[key], nil }

func (s *fakeStub) PutState(key string, value []byte) error {
	s.writes[key] = value
	return nil
}

func (s *fakeStub) GetStateByRange(start, end string) (shim.StateQueryIteratorInterface, error) {
	var kvs []*queryresult.KV
	for k, v := range s.w.state {
		if k >= start && k < end {
			kvs = append(kvs, &queryresult.KV{Key: k, Value: v})
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return &fakeIterator{kvs: kvs}, nil
}

func (s *fakeStub) GetTxID() string { return s.txID }

func (s *fakeStub) SetEvent(name string, _ []byte) error {
	s.event = name
	return nil
}

type fakeIterator struct{ kvs []*queryresult.KV }

func (i *fakeIterator) HasNext() bool { return len(i.kvs) > 0 }
func (i *fakeIterator) Close() error  { return nil }
func (i *fakeIterator) Next() (*queryresult.KV, error) {
	kv := i.kvs[0]
	i.kvs = i.kvs[1:]
	return kv, nil
}

// invoker runs the contract through fabricState as one MSP identity.
type invoker struct {
	w     *worldState
	logic *chaincode.Contract
	mspID string
}

func (inv *invoker) run(fn string, arg []byte, commit bool) ([]byte, error) {
	inv.w.mu.Lock()
	defer inv.w.mu.Unlock()
	inv.w.txs++
	stub := &fakeStub{w: inv.w, txID: fmt.Sprintf("tx%d", inv.w.txs), writes: map[string][]byte{}}
	st := &fabricState{stub: stub, mspID: func() (string, error) { return inv.mspID, nil }}
	res, err := inv.logic.Invoke(st, fn, arg)
	if err != nil {
		// What a client sees: only the message survives the peer.
		return nil, fmt.Errorf("endorse: chaincode response 500, %s", err.Error())
	}
	if commit {
		for k, v := range stub.writes {
			if len(v) == 0 {
				delete(inv.w.state, k)
			} else {
				inv.w.state[k] = v
			}
		}
	}
	return res, nil
}

func (inv *invoker) Submit(_ context.Context, fn string, arg []byte) ([]byte, error) {
	return inv.run(fn, arg, true)
}

func (inv *invoker) Evaluate(_ context.Context, fn string, arg []byte) ([]byte, error) {
	return inv.run(fn, arg, false)
}

// TestConformanceWithFabricSemantics runs the conformance suite through the
// Fabric state adapter over a world state with Fabric's rules, and with
// errors carried only as message strings, as through a real peer.
func TestConformanceWithFabricSemantics(t *testing.T) {
	logic, err := chaincode.New(ledgertest.RegulatorMSP)
	if err != nil {
		t.Fatal(err)
	}
	w := &worldState{state: map[string][]byte{}}
	id := func(msp string) ledgertest.Identity {
		key, pub, err := ecsig.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return ledgertest.Identity{
			MSPID: msp, Ledger: accounting.NewClient(&invoker{w: w, logic: logic, mspID: msp}),
			Sign: ecsig.NewSigner(key, rand.Reader), PublicKey: pub,
		}
	}
	ledgertest.Run(t, ledgertest.Harness{
		Regulator: id(ledgertest.RegulatorMSP),
		Bank1:     id(ledgertest.Bank1MSP),
		Bank2:     id(ledgertest.Bank2MSP),
		Bank3:     id(ledgertest.Bank3MSP),
	})
}

func TestNewChaincode(t *testing.T) {
	if _, err := NewChaincode(ledgertest.RegulatorMSP); err != nil {
		t.Fatal(err)
	}
	if _, err := NewChaincode(""); err == nil {
		t.Fatal("accepted an empty regulator")
	}
}

// TestEveryFunctionIsExposed checks that the contract has one method per
// chaincode function, so a function added to the logic cannot be forgotten.
func TestEveryFunctionIsExposed(t *testing.T) {
	typ := reflect.TypeOf(&Contract{})
	for _, fn := range chaincode.Functions() {
		if _, ok := typ.MethodByName(fn); !ok {
			t.Errorf("contract has no method %s", fn)
		}
	}
}

// TestAdversaryOversizedRecordInEndorser sends, through the Fabric
// adapter, a Record argument of the largest size the contract takes made
// of empty entries: the endorser refuses it by counting, allocating little
// more than the argument's one copy (decoding it allocated about 930 MiB).
func TestAdversaryOversizedRecordInEndorser(t *testing.T) {
	logic, err := chaincode.New(ledgertest.RegulatorMSP)
	if err != nil {
		t.Fatal(err)
	}
	inv := &invoker{w: &worldState{state: map[string][]byte{}}, logic: logic, mspID: ledgertest.Bank2MSP}
	n := (chaincode.MaxArgSize - 2) / 3
	arg := []byte("[" + strings.Repeat("{},", n-1) + "{}]")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = inv.run(chaincode.FnRecord, arg, true)
	runtime.ReadMemStats(&after)
	if ce, ok := chaincode.ParseError(fmt.Sprint(err)); !ok || ce.Code != chaincode.CodeInvalidArgument {
		t.Fatalf("Record of %d empty entries: %v, want invalid_argument", n, err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("the endorser allocated %d bytes to refuse it, want under 1 MiB", got)
	}
}
