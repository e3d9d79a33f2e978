package localnet

import "errors"

var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("localnet: invalid configuration")
	// ErrExited reports a node process that ended while the network was
	// expected to be running; its log file says why.
	ErrExited = errors.New("localnet: node exited")
	// ErrUnknownNode reports an MSP id that is not one of the network's
	// nodes.
	ErrUnknownNode = errors.New("localnet: unknown node")
	// ErrStopped reports a call on a network after Stop.
	ErrStopped = errors.New("localnet: network stopped")
)
