package config

import "os"

// Keys says where the node's private keys live (docs/operations.md, "Keys
// in an HSM"). Each key is "file" (the default: the identity directory)
// or "hsm" (the PKCS#11 token of the hsm section). A key placed in the
// HSM is made there when it is next made: by init, or by `riskmesh keys
// rotate`, which is how a running node's file key moves into the token.
type Keys struct {
	// Signing is the transcript-signing key. Default "file".
	Signing string `yaml:"signing"`
	// TLS is the peer transport's TLS key. Default "file".
	TLS string `yaml:"tls"`
	// OPRF is the OPRF keys: "hsm" keeps each in its file wrapped by an
	// AES-256 key in the token, unwrapped only in memory (PKCS#11 offers
	// no ristretto255 scalar multiplication). Default "file".
	OPRF string `yaml:"oprf"`
	// HSM is the token; required when a key or at_rest.kek is "hsm".
	HSM *HSM `yaml:"hsm"`
}

// HSM is a PKCS#11 token.
type HSM struct {
	// Module is the vendor's PKCS#11 library. Required.
	Module string `yaml:"module"`
	// TokenLabel selects the token. Required.
	TokenLabel string `yaml:"token_label"`
	// PINEnv names the environment variable holding the user PIN (never
	// the file). Required.
	PINEnv string `yaml:"pin_env"`
}

// AtRest says how the node seals what it stores (node/seal,
// docs/threat-model.md "Data at rest").
type AtRest struct {
	// KEK wraps the data key: "none" (the default: stored data, node.db
	// included, is not encrypted; a node.db sealed before refuses to
	// open), "hsm" (a key in the keys.hsm token) or "passphrase"
	// (Argon2id of the passphrase in passphrase_env; for the sandbox).
	KEK string `yaml:"kek"`
	// PassphraseEnv names the environment variable holding the
	// passphrase; required with kek "passphrase".
	PassphraseEnv string `yaml:"passphrase_env"`
}

// Key storage and KEK names.
const (
	StorageFile = "file"
	StorageHSM  = "hsm"
	KEKNone     = "none"
	KEKHSM      = "hsm"
	KEKPass     = "passphrase"
)

// usesHSM reports whether anything is placed in the token.
func (cfg *Config) usesHSM() bool {
	k := cfg.Keys
	return k.Signing == StorageHSM || k.TLS == StorageHSM || k.OPRF == StorageHSM || cfg.AtRest.KEK == KEKHSM
}

func (cfg *Config) validateKeys(c *checker) {
	for key, v := range map[string]string{"keys.signing": cfg.Keys.Signing, "keys.tls": cfg.Keys.TLS, "keys.oprf": cfg.Keys.OPRF} {
		if v != "" && v != StorageFile && v != StorageHSM {
			c.fail(key, "%q is not file or hsm", v)
		}
	}
	switch cfg.AtRest.KEK {
	case "", KEKNone, KEKHSM:
	case KEKPass:
		c.required("at_rest.passphrase_env", cfg.AtRest.PassphraseEnv)
	default:
		c.fail("at_rest.kek", "%q is not none, hsm or passphrase", cfg.AtRest.KEK)
	}
	h := cfg.Keys.HSM
	if h == nil {
		if cfg.usesHSM() {
			c.fail("keys.hsm", "required when a key or at_rest.kek is hsm")
		}
		return
	}
	c.required("keys.hsm.module", h.Module)
	c.required("keys.hsm.token_label", h.TokenLabel)
	c.required("keys.hsm.pin_env", h.PINEnv)
}

// PIN returns the PIN from the environment variable PINEnv names, or ""
// if it is unset.
func (h *HSM) PIN() string { return os.Getenv(h.PINEnv) }

// Passphrase returns the passphrase from the environment variable
// PassphraseEnv names, or "" if it is unset.
func (a AtRest) Passphrase() string { return os.Getenv(a.PassphraseEnv) }
