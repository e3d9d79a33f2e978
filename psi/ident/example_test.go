package ident_test

import (
	"errors"
	"fmt"

	"github.com/riskmesh/riskmesh/psi/ident"
)

func ExampleNormalize() {
	id, err := ident.Normalize(ident.Phone, "+86 138-0013-8000")
	fmt.Println(id, err)
	id, err = ident.Normalize(ident.IDCard, "11010519491231002x")
	fmt.Println(id, err)

	_, err = ident.Normalize(ident.Card, "4111 1111 1111 1112")
	fmt.Println(errors.Is(err, ident.ErrChecksum), err)
	// Output:
	// phone:+8613800138000 <nil>
	// idcard:11010519491231002X <nil>
	// true ident: card: Luhn check digit does not match
}

// A list loaded in China can carry national mobile numbers once the default
// calling code is configured explicitly.
func ExampleNew() {
	n, err := ident.New(ident.Config{DefaultCallingCode: "86"})
	if err != nil {
		panic(err)
	}
	id, err := n.Normalize(ident.Phone, "138 0013 8000")
	fmt.Println(id, err)
	// Output: phone:+8613800138000 <nil>
}

func ExampleParseID() {
	id, err := ident.ParseID("email: Alice@Example.COM")
	fmt.Println(id.Type, id.Value, err)
	// Output: email alice@example.com <nil>
}
