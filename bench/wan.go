package bench

import "context"

// WAN configures the emulated wide-area sweep.
type WAN struct{}

func runWAN(ctx context.Context, cfg *Config) ([]Row, error) { return nil, nil }
