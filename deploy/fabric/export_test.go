package fabric

import (
	"context"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// AddRootAs has the admins of signers add root, as a root CA and a TLS root
// CA, to organisation mspID's MSP on the channel: what a dishonest member
// would do to issue identities in another member's name. Only tests play
// it.
func (n *Network) AddRootAs(ctx context.Context, mspID string, signers []string, root []byte) error {
	by, err := admins(n.Info().Orgs, signers)
	if err != nil {
		return err
	}
	var signing []peerAdmin
	for _, o := range by {
		signing = append(signing, n.admin(o))
	}
	_, err = n.submitUpdate(ctx, signing, func(c *cb.Config) error {
		return changeMSP(c, mspID, trustAlso(root, root))
	})
	return err
}
