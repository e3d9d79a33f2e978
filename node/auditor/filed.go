package auditor

import (
	"context"
	"fmt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// filed is a dispute as Judge handles it: the entry it disputes, the
// digest its verdict's statement binds, and how it is decided.
type filed struct {
	key    accounting.EntryKey
	digest [transcript.DigestSize]byte
	judge  func(ctx context.Context, l audit.Ledger) (*audit.Report, audit.Decision, error)
}

// parseFiled parses what a requester filed: a catalog or live transcript,
// decided by audit.Verify and audit.Decide, or a reconciliation dispute
// (docs/reconciliation.md, "Accounting"), decided by
// audit.JudgeReconciliation, whose statement binds the header digest both
// parties signed.
func parseFiled(data []byte) (*filed, error) {
	if audit.IsReconDispute(data) {
		d, err := audit.ParseReconDispute(data)
		if err != nil {
			return nil, err
		}
		hd, err := d.Transcript.Header.Digest()
		if err != nil {
			return nil, err
		}
		return &filed{key: audit.KeyOfRecon(&d.Transcript.Header), digest: hd,
			judge: func(ctx context.Context, l audit.Ledger) (*audit.Report, audit.Decision, error) {
				return audit.JudgeReconciliation(ctx, d, l)
			}}, nil
	}
	t, err := transcript.Parse(data)
	if err != nil {
		return nil, err
	}
	d, err := t.Digests()
	if err != nil {
		return nil, err
	}
	return &filed{key: audit.KeyOf(&t.Header), digest: d.ResponseDigest,
		judge: func(ctx context.Context, l audit.Ledger) (*audit.Report, audit.Decision, error) {
			r, err := audit.Verify(ctx, t, l)
			if err != nil {
				return nil, audit.Decision{}, err
			}
			return r, audit.Decide(r), nil
		}}, nil
}

// checkFiled checks that a stored dispute's filing still parses.
func checkFiled(data []byte) error {
	if _, err := parseFiled(data); err != nil {
		return fmt.Errorf("stored transcript: %w", err)
	}
	return nil
}
