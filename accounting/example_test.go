package accounting_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/riskmesh/riskmesh/accounting"
)

// An embedded ledger: the regulator registers two institutions, prices a
// category and opens the first period; a bank cannot act as the regulator.
func ExampleOpenEmbedded() {
	dir, _ := os.MkdirTemp("", "riskmesh")
	defer os.RemoveAll(dir)
	store, err := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{Regulator: "RegulatorMSP"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	ctx := context.Background()
	reg, _ := store.As("RegulatorMSP")
	bank, _ := store.As("Bank1MSP")

	_ = reg.AddInstitution(ctx, "Bank1MSP", "Bank 1", []accounting.Role{accounting.RoleRequester, accounting.RoleProvider})
	_ = reg.SetPrice(ctx, "black", 2)
	p, _ := reg.Rollover(ctx)
	fmt.Println("period", p.Number, p.State, "price", p.Prices["black"])

	_, err = bank.Rollover(ctx)
	fmt.Println(errors.Is(err, accounting.ErrForbidden))

	head, err := store.VerifyLog(ctx)
	fmt.Println(head.Sequence, err)
	// Output:
	// period 1 open price 2
	// true
	// 3 <nil>
}

// ParseError recovers a contract rejection from a transport's error text,
// e.g. a Fabric endorsement failure.
func ExampleParseError() {
	e, ok := accounting.ParseError("rpc error: code = Aborted desc = failed to endorse transaction: chaincode response 500, riskmesh: wrong_amount: 10 items x 3 = 30, entry bills 31")
	fmt.Println(ok, errors.Is(e, accounting.ErrWrongAmount), e.Detail)
	// Output: true true 10 items x 3 = 30, entry bills 31
}

// A backup of a running embedded ledger: WriteTo copies it while it works,
// and VerifyLogFile checks the copy's log, here against a head kept from
// before the last transaction.
func ExampleVerifyLogFile() {
	dir, _ := os.MkdirTemp("", "riskmesh")
	defer os.RemoveAll(dir)
	store, err := accounting.OpenEmbedded(filepath.Join(dir, "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	ctx := context.Background()
	reg, _ := store.As(accounting.DefaultRegulator)
	_ = reg.AddInstitution(ctx, "Bank1MSP", "Bank 1", []accounting.Role{accounting.RoleRequester})
	kept, _ := store.VerifyLog(ctx)
	_ = reg.SetPrice(ctx, "black", 2)

	copyPath := filepath.Join(dir, "ledger-copy.db")
	f, _ := os.Create(copyPath)
	_, err = store.WriteTo(f)
	f.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	head, err := accounting.VerifyLogFile(ctx, copyPath, &kept)
	fmt.Println(kept.Sequence, head.Sequence, err)
	// Output: 1 2 <nil>
}
