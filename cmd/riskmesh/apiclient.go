package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// apiFlags are how a command reaches a node's business API: its unix socket,
// or a TCP address with the caller's client certificate (docs/api.md).
type apiFlags struct {
	target        string
	cert, key, ca string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.target, "api", "unix:///var/lib/riskmesh/api.sock", "the node's API: unix:///path/to/api.sock or host:port (mutual TLS)")
	cmd.Flags().StringVar(&f.cert, "api-cert", "", "client certificate (PEM) for a TCP API")
	cmd.Flags().StringVar(&f.key, "api-key", "", "client key (PEM) for a TCP API")
	cmd.Flags().StringVar(&f.ca, "api-ca", "", "CA certificate (PEM) that signed the node's API certificate")
}

// dial connects to the API; the connection is lazy, so errors about the
// node itself surface on the first call.
func (f *apiFlags) dial() (riskmeshv1.RiskMeshClient, func(), error) {
	creds := insecure.NewCredentials()
	if !strings.HasPrefix(f.target, "unix:") {
		if f.cert == "" || f.key == "" || f.ca == "" {
			return nil, nil, errors.New("a TCP API needs --api-cert, --api-key and --api-ca (or use a unix:// socket)")
		}
		pair, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, nil, fmt.Errorf("load client certificate: %w", err)
		}
		caPEM, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, nil, fmt.Errorf("%s: no PEM certificate", f.ca)
		}
		creds = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS13})
	}
	conn, err := grpc.NewClient(f.target, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(256<<20), grpc.MaxCallRecvMsgSize(256<<20)))
	if err != nil {
		return nil, nil, fmt.Errorf("api %s: %w", f.target, err)
	}
	return riskmeshv1.NewRiskMeshClient(conn), func() { conn.Close() }, nil
}
