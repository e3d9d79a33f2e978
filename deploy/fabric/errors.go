package fabricnet

import "errors"

var (
	ErrConfig      = errors.New("fabricnet: invalid configuration")
	ErrPortInUse   = errors.New("fabricnet: port in use")
	ErrBadPidFile  = errors.New("fabricnet: malformed pid file")
	ErrNoRepo      = errors.New("fabricnet: not inside the riskmesh repository")
	ErrNotReady    = errors.New("fabricnet: component did not become ready")
	ErrExited      = errors.New("fabricnet: process exited during bring-up")
	ErrUnknownOrg  = errors.New("fabricnet: unknown organisation")
	ErrNoNetwork   = errors.New("fabricnet: no network description in data dir")
	ErrCommandFail = errors.New("fabricnet: command failed")
)
