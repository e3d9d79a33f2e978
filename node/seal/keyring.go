package seal

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/riskmesh/riskmesh/internal/durable"
)

// KeySize is the length of the data key.
const KeySize = chacha20poly1305.KeySize

// keyIDSize is the length of the data key's id, random when the key is
// made; every record carries it, so a record sealed under another data key
// is told from a damaged one.
const keyIDSize = 8

const (
	keyringMagic = "riskmesh keyring v1\n"
	adLabel      = "riskmesh seal v1\x00"
	// maxKeyringSize bounds what is read of a keyring file.
	maxKeyringSize = 4 << 10
	// KeyringFile is the keyring's name in a node's data directory.
	KeyringFile = "seal.key"
)

// Keyring holds an unwrapped data key. It is safe for concurrent use.
type Keyring struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
	rand io.Reader
	// indexKey keys Index; derived from the data key, so Rewrap keeps it.
	indexKey []byte
}

// Create makes a new data key, wraps it with kek and writes the keyring to
// path (0600, atomically). It refuses to replace a keyring (ErrExists): the
// records sealed under the old data key would no longer open. rand is
// crypto/rand if nil.
func Create(path string, kek KEK, rand io.Reader) (*Keyring, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	switch _, err := os.Lstat(path); {
	case err == nil:
		return nil, fmt.Errorf("%w: %s", ErrExists, path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("seal: %w", err)
	}
	var id [keyIDSize]byte
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(rand, id[:]); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, err
	}
	if err := writeKeyring(path, kek, id, key, rand); err != nil {
		return nil, err
	}
	return newKeyring(id, key, rand)
}

// Open reads the keyring at path and unwraps its data key with kek: ErrKEK
// if kek is not the key that wrapped it, ErrNoKeyring if there is no file.
func Open(path string, kek KEK) (*Keyring, error) {
	id, key, err := readKeyring(path, kek)
	if err != nil {
		return nil, err
	}
	return newKeyring(id, key, cryptorand.Reader)
}

// OpenOrCreate opens the keyring at path, creating it if there is none.
func OpenOrCreate(path string, kek KEK) (*Keyring, error) {
	k, err := Open(path, kek)
	if errors.Is(err, ErrNoKeyring) {
		return Create(path, kek, nil)
	}
	return k, err
}

// Rewrap rotates the KEK: the keyring at path gets its data key wrapped
// by next instead of old, in one atomic rename. No sealed record changes.
func Rewrap(path string, old, next KEK, rand io.Reader) error {
	if rand == nil {
		rand = cryptorand.Reader
	}
	id, key, err := readKeyring(path, old)
	if err != nil {
		return err
	}
	return writeKeyring(path, next, id, key, rand)
}

// keyringAD binds a wrapped data key to its id and the KEK's kind.
func keyringAD(kind byte, id [keyIDSize]byte) []byte {
	return append([]byte(keyringMagic+string(kind)), id[:]...)
}

func writeKeyring(path string, kek KEK, id [keyIDSize]byte, key []byte, rand io.Reader) error {
	wrapped, err := kek.Wrap(rand, key, keyringAD(kek.Kind(), id))
	if err != nil {
		return fmt.Errorf("seal: wrap the data key: %w", err)
	}
	if len(wrapped) > maxKeyringSize-len(keyringMagic)-keyIDSize-3 {
		return fmt.Errorf("seal: wrapped data key too large")
	}
	buf := append([]byte(keyringMagic), kek.Kind())
	buf = append(buf, id[:]...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(wrapped)))
	buf = append(buf, wrapped...)
	return durable.WriteFile(path, buf, 0o600)
}

func readKeyring(path string, kek KEK) (id [keyIDSize]byte, key []byte, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return id, nil, fmt.Errorf("%w: %s", ErrNoKeyring, path)
	}
	if err != nil {
		return id, nil, fmt.Errorf("seal: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyringSize+1))
	if err != nil {
		return id, nil, fmt.Errorf("seal: %w", err)
	}
	rest, ok := bytes.CutPrefix(data, []byte(keyringMagic))
	if !ok || len(data) > maxKeyringSize || len(rest) < 1+keyIDSize+2 {
		return id, nil, fmt.Errorf("%w: %s is not a keyring", ErrMalformed, path)
	}
	kind := rest[0]
	copy(id[:], rest[1:])
	rest = rest[1+keyIDSize:]
	n := int(binary.BigEndian.Uint16(rest))
	if len(rest) != 2+n {
		return id, nil, fmt.Errorf("%w: %s: wrapped data key length", ErrMalformed, path)
	}
	if kind != kek.Kind() {
		return id, nil, fmt.Errorf("%w: %s was wrapped by a KEK of kind %d, not %d", ErrKEK, path, kind, kek.Kind())
	}
	key, err = kek.Unwrap(rest[2:], keyringAD(kind, id))
	if err != nil {
		return id, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if len(key) != KeySize {
		return id, nil, fmt.Errorf("%w: data key of %d bytes", ErrMalformed, len(key))
	}
	return id, key, nil
}

func newKeyring(id [keyIDSize]byte, key []byte, rand io.Reader) (*Keyring, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(indexLabel))
	return &Keyring{id: id, aead: aead, rand: rand, indexKey: m.Sum(nil)}, nil
}

// ad is the associated data of a record or stream at location.
func (k *Keyring) ad(location string) []byte {
	ad := make([]byte, 0, len(adLabel)+keyIDSize+2+len(location))
	ad = append(ad, adLabel...)
	ad = append(ad, k.id[:]...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(location)))
	return append(ad, location...)
}

// MaxLocation bounds a location's length.
const MaxLocation = 1 << 10

const (
	recordVersion = 1
	streamVersion = 2
	// Overhead is what Seal adds to a record.
	Overhead = 1 + keyIDSize + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
)

// Seal encrypts plaintext for location.
func (k *Keyring) Seal(location string, plaintext []byte) ([]byte, error) {
	if len(location) > MaxLocation {
		return nil, fmt.Errorf("seal: location longer than %d bytes", MaxLocation)
	}
	out := make([]byte, 1+keyIDSize+chacha20poly1305.NonceSizeX, Overhead+len(plaintext))
	out[0] = recordVersion
	copy(out[1:], k.id[:])
	nonce := out[1+keyIDSize:]
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, plaintext, k.ad(location)), nil
}

// Open decrypts a record Seal made for location: ErrOpen if it was altered
// or sealed for another location, ErrOtherKey if under another data key.
func (k *Keyring) Open(location string, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != recordVersion {
		return nil, fmt.Errorf("%w: not a sealed record", ErrMalformed)
	}
	if !bytes.Equal(sealed[1:1+keyIDSize], k.id[:]) {
		return nil, ErrOtherKey
	}
	if len(location) > MaxLocation {
		return nil, ErrOpen
	}
	nonce := sealed[1+keyIDSize : 1+keyIDSize+chacha20poly1305.NonceSizeX]
	plain, err := k.aead.Open(nil, nonce, sealed[1+keyIDSize+len(nonce):], k.ad(location))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
