//go:build cgo

package identity

import (
	"fmt"
	"io"

	"github.com/ThalesGroup/crypto11"
	"golang.org/x/crypto/cryptobyte"

	"github.com/riskmesh/riskmesh/node/seal"
)

// sealLabel names the token's key-encryption keys of mspID's data-at-rest
// keyring (node/seal).
func sealLabel(mspID string) string { return "riskmesh/" + mspID + "/seal-kek" }

// tokenKEK is a node/seal KEK computed in the token: AES-256-GCM under a
// token key that never leaves it. Its wrapped data key is
//
//	uint8 length, then the token key's CKA_ID | nonce (12) | ciphertext
//
// so Unwrap finds the key that wrapped, whichever it is.
type tokenKEK struct {
	t   *Token
	key *crypto11.SecretKey
	id  []byte
}

var _ seal.KEK = (*tokenKEK)(nil)

// SealKEK returns the token key that wraps mspID's data-at-rest keyring,
// generating it on first use.
func (t *Token) SealKEK(mspID string) (seal.KEK, error) {
	k, id, err := t.wrappingKey(sealLabel(mspID))
	if err != nil {
		return nil, err
	}
	return &tokenKEK{t: t, key: k, id: id}, nil
}

// oprfKEK is the token key that wraps OPRF keys under label, generated on
// first use.
func (t *Token) oprfKEK(label string) (seal.KEK, error) {
	k, id, err := t.wrappingKey(label)
	if err != nil {
		return nil, err
	}
	return &tokenKEK{t: t, key: k, id: id}, nil
}

// anyKEK unwraps with whichever token key the wrapped bytes name.
func (t *Token) anyKEK() seal.KEK { return &tokenKEK{t: t} }

// RotateSealKEK generates a new token key for mspID's keyring. Rewrap the
// keyring from the old KEK to it (seal.Rewrap), then DiscardSealKEKs.
func (t *Token) RotateSealKEK(mspID string) (seal.KEK, error) {
	k, id, err := t.generateSecretKey(sealLabel(mspID))
	if err != nil {
		return nil, err
	}
	return &tokenKEK{t: t, key: k, id: id}, nil
}

// DiscardSealKEKs destroys mspID's keyring KEKs in the token other than
// keep, once the keyring is rewrapped under keep; every one of them if
// keep is nil (the keyring was rewrapped under a passphrase).
func (t *Token) DiscardSealKEKs(mspID string, keep seal.KEK) error {
	var keepID []byte
	if keep != nil {
		k, ok := keep.(*tokenKEK)
		if !ok {
			return fmt.Errorf("%w: not a token KEK", ErrToken)
		}
		keepID = k.id
	}
	keys, err := t.ctx.FindKeys(nil, []byte(sealLabel(mspID)))
	return discardExcept(t, keys, err, keepID)
}

// Kind implements seal.KEK.
func (*tokenKEK) Kind() byte { return seal.KindToken }

// Wrap implements seal.KEK.
func (k *tokenKEK) Wrap(rand io.Reader, dataKey, ad []byte) ([]byte, error) {
	aead, err := k.key.NewGCM()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrToken, err)
	}
	nonce := make([]byte, gcmNonceSize)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, err
	}
	ct, err := sealInToken(aead, nonce, dataKey, ad)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(k.id) })
	b.AddBytes(nonce)
	b.AddBytes(ct)
	return b.BytesOrPanic(), nil
}

// Unwrap implements seal.KEK. A token key that is gone is seal.ErrKEK as
// well as ErrKeyMissing.
func (k *tokenKEK) Unwrap(wrapped, ad []byte) ([]byte, error) {
	s := cryptobyte.String(wrapped)
	var id cryptobyte.String
	var nonce []byte
	if !s.ReadUint8LengthPrefixed(&id) || len(id) == 0 || !s.ReadBytes(&nonce, gcmNonceSize) {
		return nil, fmt.Errorf("%w: wrapped data key", seal.ErrMalformed)
	}
	key, err := k.t.secretKey(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", seal.ErrKEK, err)
	}
	aead, err := key.NewGCM()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrToken, err)
	}
	plain, err := aead.Open(nil, nonce, s, ad)
	if err != nil {
		return nil, seal.ErrKEK
	}
	return plain, nil
}
