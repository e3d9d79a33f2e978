package lists_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

func ExampleNewDelimited() {
	const file = "phone,cat,reason,listed,case\n" +
		"+86 138-0013-8000,1,7,2024-03-01,C-1\n" +
		"12345,1,7,2024-03-01,C-2\n"
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(file)), nil }
	src, err := lists.NewDelimited(open, lists.DelimitedConfig{Mapping: lists.Mapping{
		ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed", Reference: "case",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := lists.Drain(src.Entries(context.Background(), 1), func(e catalogpsi.Entry) error {
		fmt.Println(e.ID, e.Label.Listed)
		return nil
	})
	fmt.Println(rep.Entries, rep.Rejected, err)
	fmt.Println(rep.Errors[0])
	// Output:
	// phone:+8613800138000 2024-03-01
	// 1 1 <nil>
	// lists: row 3: id: ident: phone: no + or 00 prefix and no default calling code configured
}
