package localnet

// SetPickAddr makes the network pick node addresses with pick until the
// returned function restores freeAddr: a test hands out a port it holds to
// force a collision.
func SetPickAddr(pick func(network string) (string, error)) (restore func()) {
	pickAddr = pick
	return func() { pickAddr = freeAddr }
}

// FreeAddr is the network's own pick, for a test's pick to fall back on.
var FreeAddr = freeAddr
