package config_test

import (
	"fmt"
	"log"

	"github.com/riskmesh/riskmesh/node/config"
)

func ExampleParse() {
	c, err := config.Parse([]byte(`
msp_id: Lender2MSP
ledger:
  remote:
    msp_id: RegulatorMSP
    endpoint: 127.0.0.1:7300
    tls_fingerprint: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
requester:
  default_deadline: 10s
`), "/srv/lender2")
	if err != nil {
		log.Fatal(err)
	}
	network, addr := c.APINetwork()
	fmt.Println(c.Ledger.Backend, c.IdentityDir, network, addr, c.Requester.DefaultDeadline)

	_, err = config.Parse([]byte("msp_id: Lender2MSP\nlisten:\n  peer: 127.0.0.1:7400\n  metrcis: off\n"), "/srv/lender2")
	fmt.Println(err)
	// Output:
	// embedded-remote /srv/lender2/identity unix /srv/lender2/data/api.sock 10s
	// config: invalid: unmarshal errors:
	//   line 4: field metrcis not found
}
