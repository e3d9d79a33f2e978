package ristretto

import (
	"bytes"
	"math/big"
	"slices"
	"testing"

	"filippo.io/edwards25519/field"
)

// TestFieldConstants checks the derived constants against RFC 9496 section
// 4.1's decimal values.
func TestFieldConstants(t *testing.T) {
	tests := []struct {
		name    string
		got     *field.Element
		decimal string
	}{
		{"D", feD, "37095705934669439343138083508754565189542113879843219016388785533085940283555"},
		{"SQRT_M1", feSqrtM1, "19681161376707505956807079304988542015446066515923890162744021073123829784752"},
		{"SQRT_AD_MINUS_ONE", feSqrtADMinusOne, "25063068953384623474111414158702152701244531502492656460079210482610430750235"},
		{"INVSQRT_A_MINUS_D", feInvSqrtAMinusD, "54469307008909316920995813868745141605393597292927456921205312896311721017578"},
		{"ONE_MINUS_D_SQ", feOneMinusDSq, "1159843021668779879193775521855586647937357759715417654439879720876111806838"},
		{"D_MINUS_ONE_SQ", feDMinusOneSq, "40440834346308536858101042469323190826248399146238708352240133220865137265952"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := new(big.Int).SetString(tt.decimal, 10)
			if !ok {
				t.Fatal("bad decimal")
			}
			want := make([]byte, 32)
			v.FillBytes(want)
			slices.Reverse(want)
			if got := tt.got.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x", got, want)
			}
		})
	}
}
