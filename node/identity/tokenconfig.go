package identity

// TokenConfig says how to reach the PKCS#11 token that holds the keys
// node.yaml's keys section puts there (docs/operations.md, "Keys in an
// HSM").
type TokenConfig struct {
	// Module is the path of the vendor's PKCS#11 library
	// (/usr/lib/softhsm/libsofthsm2.so for SoftHSM2). Required.
	Module string
	// Label is the token's label. Required.
	Label string
	// PIN is the user PIN. It never appears in an error or a log.
	PIN string
}

// keyIDSize is the length of the random CKA_ID each key gets; a reference
// file names its key by it.
const keyIDSize = 16
