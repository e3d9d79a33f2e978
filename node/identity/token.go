//go:build cgo

package identity

import (
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// Token is an open, logged-in PKCS#11 token. Its signers are safe for
// concurrent use (crypto11 keeps a pool of sessions). Close it after the
// last signature.
type Token struct {
	ctx *crypto11.Context
}

// gcmNonceSize is the nonce length of the AES-GCM wrapping of OPRF keys:
// the 96 bits GCM is specified for, which every token supports.
const gcmNonceSize = 12

// OpenToken loads the module, finds the token by label and logs in. A wrong
// PIN is ErrTokenLogin and a token that is not there ErrTokenNotFound; the
// PIN is never part of the error.
func OpenToken(cfg TokenConfig) (*Token, error) {
	if cfg.Module == "" || cfg.Label == "" {
		return nil, fmt.Errorf("%w: module and token label are required", ErrToken)
	}
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:        cfg.Module,
		TokenLabel:  cfg.Label,
		Pin:         cfg.PIN,
		GCMIVLength: gcmNonceSize,
	})
	if err != nil {
		return nil, tokenOpenError(cfg, err)
	}
	return &Token{ctx: ctx}, nil
}

// tokenOpenError names what went wrong opening a token without repeating
// the PIN (crypto11's messages do not carry it, but only the PKCS#11 code
// and the module's path are kept, to be sure).
func tokenOpenError(cfg TokenConfig, err error) error {
	var code pkcs11.Error
	switch {
	case errors.As(err, &code) && (code == pkcs11.CKR_PIN_INCORRECT || code == pkcs11.CKR_PIN_INVALID || code == pkcs11.CKR_PIN_LEN_RANGE):
		return fmt.Errorf("%w: token %q refused the PIN (%s)", ErrTokenLogin, cfg.Label, code.Error())
	case errors.As(err, &code) && code == pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("%w: token %q has locked the user PIN", ErrTokenLogin, cfg.Label)
	case errors.As(err, &code):
		return fmt.Errorf("%w: token %q in %s: %s", ErrToken, cfg.Label, cfg.Module, code.Error())
	case err.Error() == "could not find PKCS#11 token":
		return fmt.Errorf("%w: no token labelled %q in %s", ErrTokenNotFound, cfg.Label, cfg.Module)
	default:
		return fmt.Errorf("%w: module %s: %v", ErrToken, cfg.Module, redact(err, cfg.PIN))
	}
}

// redact returns err's message with pin removed, should a module ever put
// it there.
func redact(err error, pin string) string {
	if pin == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), pin, "[pin]")
}

// Close logs out and releases the module once no other Token uses it.
func (t *Token) Close() error { return t.ctx.Close() }

func newKeyID() ([]byte, error) {
	id := make([]byte, keyIDSize)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	return id, nil
}

// generateKeyPair makes a P-256 key pair in the token under label and
// returns its signer and CKA_ID. The private half never leaves the token
// (crypto11 marks it sensitive and not extractable).
func (t *Token) generateKeyPair(label string) (crypto.Signer, []byte, error) {
	id, err := newKeyID()
	if err != nil {
		return nil, nil, err
	}
	s, err := t.ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P256())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: generate key pair: %v", ErrToken, err)
	}
	return s, id, nil
}

// keyPair finds the key pair with CKA_ID id and checks that its public half
// is pub, so a reference file cannot be pointed at another key.
func (t *Token) keyPair(id []byte, pub *ecdsa.PublicKey) (crypto.Signer, error) {
	pairs, err := t.ctx.FindKeyPairs(id, nil)
	s, err := only(pairs, err, "key pair", id)
	if err != nil {
		return nil, err
	}
	got, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || !got.Equal(pub) {
		return nil, fmt.Errorf("%w: key pair %x in the token is not the one the reference names", ErrMismatch, id)
	}
	return s, nil
}

// secretKey finds the AES key with CKA_ID id.
func (t *Token) secretKey(id []byte) (*crypto11.SecretKey, error) {
	keys, err := t.ctx.FindKeys(id, nil)
	return only(keys, err, "wrapping key", id)
}

// only returns the one object a search under CKA_ID id found: none is
// ErrKeyMissing, several (ids are random, so someone made them) is
// ErrMismatch.
func only[T any](objs []T, err error, what string, id []byte) (T, error) {
	var zero T
	switch {
	case err != nil:
		return zero, fmt.Errorf("%w: %v", ErrToken, err)
	case len(objs) == 0:
		return zero, fmt.Errorf("%w: no %s under CKA_ID %x", ErrKeyMissing, what, id)
	case len(objs) > 1:
		return zero, fmt.Errorf("%w: %d of %s under CKA_ID %x", ErrMismatch, len(objs), what, id)
	}
	return objs[0], nil
}

// wrappingKey returns the AES-256 key labelled label, generating it on
// first use, and its CKA_ID.
func (t *Token) wrappingKey(label string) (*crypto11.SecretKey, []byte, error) {
	keys, err := t.ctx.FindKeys(nil, []byte(label))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrToken, err)
	}
	for _, k := range keys {
		id, err := t.ctx.GetAttribute(k, crypto11.CkaId)
		if err == nil && len(id.Value) == keyIDSize {
			return k, id.Value, nil
		}
	}
	return t.generateSecretKey(label)
}

// generateSecretKey makes an AES-256 key labelled label in the token (not
// extractable) and returns it with its CKA_ID.
func (t *Token) generateSecretKey(label string) (*crypto11.SecretKey, []byte, error) {
	id, err := newKeyID()
	if err != nil {
		return nil, nil, err
	}
	k, err := t.ctx.GenerateSecretKeyWithLabel(id, []byte(label), 256, crypto11.CipherAES)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: generate AES key: %v", ErrToken, err)
	}
	return k, id, nil
}

// discardKeyPairs destroys the key pairs labelled label except the one
// with CKA_ID keep.
func (t *Token) discardKeyPairs(label string, keep []byte) error {
	pairs, err := t.ctx.FindKeyPairs(nil, []byte(label))
	return discardExcept(t, pairs, err, keep)
}

// discardExcept destroys objs, found with err, except the one with CKA_ID
// keep.
func discardExcept[T interface{ Delete() error }](t *Token, objs []T, err error, keep []byte) error {
	if err != nil {
		return fmt.Errorf("%w: %v", ErrToken, err)
	}
	for _, o := range objs {
		id, err := t.ctx.GetAttribute(o, crypto11.CkaId)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrToken, err)
		}
		if string(id.Value) == string(keep) {
			continue
		}
		if err := o.Delete(); err != nil {
			return fmt.Errorf("%w: destroy a retired key: %v", ErrToken, err)
		}
	}
	return nil
}

// sealInToken encrypts with an AEAD the token computes. crypto11's Seal
// panics when the token fails (cipher.AEAD has no error to return); the
// panic becomes an error here, as a token failure must not crash the node.
func sealInToken(aead cipher.AEAD, nonce, plaintext, ad []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: AES-GCM: %v", ErrToken, r)
		}
	}()
	return aead.Seal(nil, nonce, plaintext, ad), nil
}
