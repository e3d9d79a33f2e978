package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/accounting"
)

// maxPaymentsFile bounds the payment instructions file `payments --check`
// reads: a line per transfer, fewer transfers than institutions.
const maxPaymentsFile = 16 << 20

// newLedgerMoneyCommands returns the money-cycle subcommands of `ledger`
// (docs/operations.md, "The money cycle"): a snapshot over a run of settled
// periods, its payment instructions, and the regulator's view of every
// member's exposure.
func newLedgerMoneyCommands(l func() accounting.Ledger) []*cobra.Command {
	var through uint64
	snapshot := ledgerCmd("snapshot PERIOD", "record what the settled periods PERIOD..--through (default PERIOD alone) left each institution, take it out of the balances, and print the snapshot", 1,
		func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			s, err := l().TakeSnapshotRange(ctx, n, through)
			if err != nil {
				return err
			}
			return printJSON(w, s)
		}, nil)
	snapshot.Flags().Uint64Var(&through, "through", 0, "the last settled period the snapshot covers (0: PERIOD alone)")

	var out, check string
	payments := ledgerCmd("payments PERIOD", "write the payment instructions of the snapshot covering PERIOD to --out and record their digest on the ledger (regulator), or --check a received file against the recorded digest", 1,
		func(ctx context.Context, w io.Writer, args []string, _ *ledgerFlags) error {
			n, err := parsePeriod(args[0])
			if err != nil {
				return err
			}
			if (out == "") == (check == "") {
				return errors.New("give one of --out FILE (export and record) or --check FILE")
			}
			if check != "" {
				return checkPayments(ctx, w, l(), n, check)
			}
			return exportPayments(ctx, w, l(), n, out)
		}, nil)
	payments.Flags().StringVar(&out, "out", "", "write the payment instructions to this new file and record their digest")
	payments.Flags().StringVar(&check, "check", "", "check this payment instructions file against the digest the ledger recorded")

	exposures := ledgerCmd("exposures", "print every member's settled balance, limit, unsettled spend, headroom and flag, and what each unsettled period may still lose (backlog reports, providers that never reported)", 0,
		func(ctx context.Context, w io.Writer, _ []string, _ *ledgerFlags) error {
			v, err := accounting.ReadConsortiumView(ctx, l())
			if err != nil {
				return err
			}
			return printJSON(w, v)
		}, nil)
	exposures.Aliases = []string{"exposure"}
	return []*cobra.Command{snapshot, payments, exposures}
}

// exportPayments records the digest of the payment instructions and
// writes them to a new file. The contract refuses any digest but the one of
// these exact bytes, and the file is created first and removed if the
// ledger refuses: a caller that may not record them (not the regulator)
// leaves no file, and an export that ran before, or runs again, writes the
// same bytes.
func exportPayments(ctx context.Context, w io.Writer, l accounting.Ledger, period uint64, path string) error {
	csv, digest, snap, err := accounting.PaymentInstructions(ctx, l, period)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := l.RecordPayments(ctx, snap.Period, digest[:]); err != nil {
		return errors.Join(err, f.Close(), os.Remove(path))
	}
	if _, err := f.Write(csv); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "wrote %s: snapshot %d (periods %d..%d), %d bytes, digest %s recorded\n",
		path, snap.Period, snap.Period, snap.Through, len(csv), hex.EncodeToString(digest[:]))
	return err
}

// checkPayments checks a received file against the recorded digest.
func checkPayments(ctx context.Context, w io.Writer, l accounting.Ledger, period uint64, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	file, err := io.ReadAll(io.LimitReader(f, maxPaymentsFile+1))
	if err != nil {
		return err
	}
	if len(file) > maxPaymentsFile {
		return fmt.Errorf("%s: larger than %d bytes: not a payment instructions file", path, maxPaymentsFile)
	}
	snap, err := accounting.CheckPayments(ctx, l, period, file)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = fmt.Fprintf(w, "%s: the payment instructions of snapshot %d (periods %d..%d) recorded in transaction %s\n",
		path, snap.Period, snap.Period, snap.Through, snap.PaymentsTxID)
	return err
}
