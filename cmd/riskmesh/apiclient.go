package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/apiclient"
)

// apiFlags are how a command reaches a node's business API (node/apiclient).
type apiFlags struct{ apiclient.Target }

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Address, "api", apiclient.DefaultAddress, "the node's API: unix:///path/to/api.sock or host:port (mutual TLS)")
	cmd.Flags().StringVar(&f.Cert, "api-cert", "", "client certificate (PEM) for a TCP API")
	cmd.Flags().StringVar(&f.Key, "api-key", "", "client key (PEM) for a TCP API")
	cmd.Flags().StringVar(&f.CA, "api-ca", "", "CA certificate (PEM) that signed the node's API certificate")
}

// hostPath is apiclient.Target.HostPath with the flag that named the path.
func (f *apiFlags) hostPath(flag, path string) (string, error) {
	p, err := f.HostPath(path)
	if err != nil {
		return "", fmt.Errorf("%s %w", flag, err)
	}
	return p, nil
}

// with dials the API, runs fn with the client and closes it: the body of
// every command that makes one or more calls on one connection. A TCP API
// without its TLS files fails naming the flags that give them.
func (f *apiFlags) with(fn func(*apiclient.Client) error) error {
	client, err := apiclient.Dial(f.Target)
	if errors.Is(err, apiclient.ErrTLSFiles) {
		return errors.New("a TCP API needs --api-cert, --api-key and --api-ca (or use a unix:// socket)")
	}
	if err != nil {
		return err
	}
	defer client.Close()
	return fn(client)
}
