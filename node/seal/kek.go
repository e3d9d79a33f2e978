package seal

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KEK is a key-encryption key. It wraps the data key in its own encoding
// (which carries whatever it needs to unwrap it again, such as a salt or a
// token key's id) and unwraps it; ad binds the wrapping to the keyring.
type KEK interface {
	// Kind is the byte the keyring records, so opening with another kind
	// of KEK fails clearly.
	Kind() byte
	Wrap(rand io.Reader, dataKey, ad []byte) ([]byte, error)
	// Unwrap returns ErrKEK when the KEK is not the one that wrapped.
	Unwrap(wrapped, ad []byte) ([]byte, error)
}

// KEK kinds.
const (
	KindPassphrase byte = 1
	KindToken      byte = 2
)

// Argon2id parameters of PassphraseKEK (RFC 9106's second recommended
// option: 64 MiB, 3 passes), and the bounds Unwrap accepts from a file,
// so a damaged or hostile keyring cannot ask for unbounded memory or time.
const (
	argonTime       = 3
	argonMemoryKiB  = 64 << 10
	argonThreads    = 2
	argonSaltSize   = 16
	maxArgonTime    = 16
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonThreads = 16
)

// PassphraseKEK derives the KEK from a passphrase with Argon2id. It is for
// the sandbox and for nodes without an HSM; a token KEK (node/identity's
// Token.SealKEK) keeps the KEK out of the host.
type PassphraseKEK []byte

var _ KEK = PassphraseKEK(nil)

// Kind implements KEK.
func (PassphraseKEK) Kind() byte { return KindPassphrase }

// Wrap implements KEK: salt (16) | time (4) | memory KiB (4) | threads (1)
// | nonce (24) | ciphertext.
func (p PassphraseKEK) Wrap(rand io.Reader, dataKey, ad []byte) ([]byte, error) {
	head := make([]byte, argonSaltSize+9)
	if _, err := io.ReadFull(rand, head[:argonSaltSize]); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(head[argonSaltSize:], argonTime)
	binary.BigEndian.PutUint32(head[argonSaltSize+4:], argonMemoryKiB)
	head[argonSaltSize+8] = argonThreads
	aead, err := chacha20poly1305.NewX(argon2.IDKey(p, head[:argonSaltSize], argonTime, argonMemoryKiB, argonThreads, KeySize))
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, err
	}
	out := append(head, nonce...)
	return aead.Seal(out, nonce, dataKey, slices.Concat(ad, head)), nil
}

// Unwrap implements KEK.
func (p PassphraseKEK) Unwrap(wrapped, ad []byte) ([]byte, error) {
	const headSize = argonSaltSize + 9
	if len(wrapped) < headSize+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: wrapped data key too short", ErrMalformed)
	}
	head := wrapped[:headSize]
	t := binary.BigEndian.Uint32(head[argonSaltSize:])
	m := binary.BigEndian.Uint32(head[argonSaltSize+4:])
	threads := head[argonSaltSize+8]
	if t == 0 || t > maxArgonTime || m < 8*uint32(threads) || m > maxArgonMemory || threads == 0 || threads > maxArgonThreads {
		return nil, fmt.Errorf("%w: Argon2id parameters out of bounds", ErrMalformed)
	}
	aead, err := chacha20poly1305.NewX(argon2.IDKey(p, head[:argonSaltSize], t, m, threads, KeySize))
	if err != nil {
		return nil, err
	}
	nonce := wrapped[headSize : headSize+chacha20poly1305.NonceSizeX]
	key, err := aead.Open(nil, nonce, wrapped[headSize+len(nonce):], slices.Concat(ad, head))
	if err != nil {
		return nil, ErrKEK
	}
	return key, nil
}
