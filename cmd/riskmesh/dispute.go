package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/node/dispute"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

func newDisputeCommand() *cobra.Command {
	var (
		a           ledgerAccess
		api         apiFlags
		entries     []string
		auditorMSP  string
		auditorAddr string
		claim       string
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "dispute [FILE]",
		Short: "dispute an answer with the auditor and reverse the charge if upheld",
		Long: `dispute files each transcript in FILE (exchanges this institution requested), or each
exchange --entry names, fetched from this node's business API (--api), with the auditor service
at --auditor-addr, whose TLS certificate is pinned by its ledger registry record.
The verdict's signatures are checked against the auditor's registered key; an upheld dispute is
reversed on the ledger at once. --reason is the claim in your words: it is stored by the
auditor, so never put customer identifiers in it. A rejection (a label you believe wrong is not a
cryptographic failure) is reported with the auditor's reason; the command fails only if a
dispute could not be filed or verified.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ts []*transcript.Transcript
			var err error
			switch {
			case len(args) == 1 && len(entries) == 0:
				ts, err = transcript.ReadFile(args[0])
			case len(args) == 0 && len(entries) > 0:
				ts, err = fetchTranscripts(cmd.Context(), &api, entries)
			case len(args) == 0:
				err = errors.New("name what to dispute: a transcript FILE, or exchanges with --entry PERIOD/RESPONDER/SEQUENCE")
			default:
				err = errors.New("name a transcript FILE or --entry exchanges, not both")
			}
			if err != nil {
				return err
			}
			l, err := a.open(true)
			if err != nil {
				return err
			}
			defer l.Close()
			conn, err := dispute.Dial(cmd.Context(), l.Ledger, auditorMSP, auditorAddr, l.Identity.Certificate)
			if err != nil {
				return err
			}
			defer conn.Close()
			c, err := dispute.New(dispute.Config{Ledger: l.Ledger, Auditor: riskmeshv1.NewAuditorClient(conn), AuditorMSP: auditorMSP})
			if err != nil {
				return err
			}
			for _, t := range ts {
				out, err := c.Dispute(cmd.Context(), t, claim)
				if err != nil {
					return err
				}
				if asJSON {
					err = printJSON(cmd.OutOrStdout(), out)
				} else {
					err = out.WriteText(cmd.OutOrStdout())
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	a.flags(cmd, true)
	api.register(cmd)
	cmd.Flags().StringArrayVar(&entries, "entry", nil, "an exchange to dispute, PERIOD/RESPONDER/SEQUENCE (repeatable; fetched with --api)")
	cmd.Flags().StringVar(&auditorMSP, "auditor", "RegulatorMSP", "the auditor institution's MSP id")
	cmd.Flags().StringVar(&auditorAddr, "auditor-addr", "127.0.0.1:7444", "the auditor service's address")
	cmd.Flags().StringVar(&claim, "reason", "", "your claim (at most 512 bytes; stored by the auditor: no customer identifiers)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the outcomes as JSON")
	return cmd
}

// fetchTranscripts gets the transcripts of exchanges named
// PERIOD/RESPONDER/SEQUENCE from the node's business API.
func fetchTranscripts(ctx context.Context, api *apiFlags, entries []string) ([]*transcript.Transcript, error) {
	for _, e := range entries {
		if _, err := apiclient.ParseEntry(e); err != nil {
			return nil, fmt.Errorf("--entry %w", err)
		}
	}
	var ts []*transcript.Transcript
	err := api.with(func(client *apiclient.Client) (err error) {
		ts, err = client.Transcripts(ctx, entries)
		return err
	})
	return ts, err
}
