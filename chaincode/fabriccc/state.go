package fabriccc

import (
	"errors"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/riskmesh/riskmesh/chaincode"
)

// stub is the part of shim.ChaincodeStubInterface the contract uses.
type stub interface {
	GetState(key string) ([]byte, error)
	PutState(key string, value []byte) error
	GetStateByRange(startKey, endKey string) (shim.StateQueryIteratorInterface, error)
	GetTxID() string
	SetEvent(name string, payload []byte) error
}

// fabricState adapts a Fabric transaction to chaincode.State. Fabric does not
// show a transaction its own writes; the contract never reads a key after
// writing it, so both hosts behave the same.
type fabricState struct {
	stub  stub
	mspID func() (string, error)
}

var _ chaincode.State = (*fabricState)(nil)

func (s *fabricState) Get(key string) ([]byte, error) { return s.stub.GetState(key) }

func (s *fabricState) Put(key string, value []byte) error {
	if len(value) == 0 {
		// Fabric treats an empty value as a delete.
		return errors.New("fabriccc: empty value")
	}
	return s.stub.PutState(key, value)
}

func (s *fabricState) Range(start, end string) (chaincode.Iterator, error) {
	it, err := s.stub.GetStateByRange(start, end)
	if err != nil {
		return nil, err
	}
	return &iterator{it: it}, nil
}

func (s *fabricState) Caller() (string, error) { return s.mspID() }

func (s *fabricState) TxID() string { return s.stub.GetTxID() }

func (s *fabricState) SetEvent(name string, payload []byte) error {
	return s.stub.SetEvent(name, payload)
}

type iterator struct {
	it shim.StateQueryIteratorInterface
}

func (i *iterator) Next() (string, []byte, bool, error) {
	if !i.it.HasNext() {
		return "", nil, false, nil
	}
	kv, err := i.it.Next()
	if err != nil {
		return "", nil, false, err
	}
	return kv.GetKey(), kv.GetValue(), true, nil
}

func (i *iterator) Close() error { return i.it.Close() }
