package config

import "errors"

// ErrInvalid is wrapped by every validation error; the message names the
// offending key as a dotted path (e.g. "listen.peer").
var ErrInvalid = errors.New("config: invalid")
