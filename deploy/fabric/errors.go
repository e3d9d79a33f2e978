package fabric

import "errors"

var (
	ErrConfig      = errors.New("fabric: invalid configuration")
	ErrPortInUse   = errors.New("fabric: port in use")
	ErrBadPidFile  = errors.New("fabric: malformed pid file")
	ErrNoRepo      = errors.New("fabric: not inside the riskmesh repository")
	ErrNotReady    = errors.New("fabric: component did not become ready")
	ErrExited      = errors.New("fabric: process exited during bring-up")
	ErrUnknownOrg  = errors.New("fabric: unknown organisation")
	ErrNoNetwork   = errors.New("fabric: no network description in data dir")
	ErrCommandFail = errors.New("fabric: command failed")
	ErrStopped     = errors.New("fabric: network stopped")

	ErrBadConfigBlock = errors.New("fabric: malformed channel configuration block")
	ErrNoConfigChange = errors.New("fabric: configuration update changes nothing")
	ErrMember         = errors.New("fabric: organisation already on the channel")
	ErrRunsOrderer    = errors.New("fabric: organisation runs an orderer")
	ErrNoSlot         = errors.New("fabric: no free organisation slot")
	ErrNoSignatures   = errors.New("fabric: no admin to sign")
	ErrUnknownOrderer = errors.New("fabric: unknown orderer")
	ErrJoinIncomplete = errors.New("fabric: organisation on the channel but not joined")
)
