package fabriccc

import (
	"fmt"
	"reflect"

	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"
	"github.com/hyperledger/fabric-contract-api-go/v2/serializer"
)

// stringSerializer hands every transaction its argument and returns its
// result as the strings they are. Every function of the contract, and
// contractapi's own GetMetadata, takes and returns plain strings (the
// contract's JSON goes through unchanged); contractapi's default
// serializer checks each string against the schema it generated for a Go
// string, {"type": "string"}, which any string meets, by encoding it as
// JSON and parsing that again. For a Record of 500 entries that is two
// more passes over about 600 KB in every endorsement, and four over the
// 4 MiB a channel member may send (docs/benchmarks.md, "Contract CPU per
// entry").
type stringSerializer struct{}

var _ serializer.TransactionSerializer = stringSerializer{}

var stringType = reflect.TypeFor[string]()

func (stringSerializer) FromString(param string, typ reflect.Type, _ *metadata.ParameterMetadata, _ *metadata.ComponentMetadata) (reflect.Value, error) {
	if typ != stringType {
		return reflect.Value{}, fmt.Errorf("fabriccc: parameter of type %v, want string", typ)
	}
	return reflect.ValueOf(param), nil
}

func (stringSerializer) ToString(v reflect.Value, typ reflect.Type, _ *metadata.ReturnMetadata, _ *metadata.ComponentMetadata) (string, error) {
	if typ != stringType {
		return "", fmt.Errorf("fabriccc: result of type %v, want string", typ)
	}
	return v.String(), nil
}
