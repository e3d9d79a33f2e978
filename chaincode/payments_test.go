package chaincode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPayments(t *testing.T) {
	tests := []struct {
		name     string
		balances map[string]int64
		want     []Payment
	}{
		{"Empty", nil, []Payment{}},
		{"AllZero", map[string]int64{"A": 0, "B": 0}, []Payment{}},
		{"OneDebtorTwoCreditors", map[string]int64{"A": -26, "B": 12, "C": 14}, []Payment{
			{"A", "C", 14}, {"A", "B", 12},
		}},
		{"TiesByMSPID", map[string]int64{"D": -5, "C": -5, "B": 5, "A": 5}, []Payment{
			{"C", "A", 5}, {"D", "B", 5},
		}},
		{"LargestFirst", map[string]int64{"A": -10, "B": -3, "C": 7, "D": 6}, []Payment{
			{"A", "C", 7}, {"A", "D", 3}, {"B", "D", 3},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Payments(tc.balances)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("payments %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPaymentsRefusesBalancesThatDoNotNet(t *testing.T) {
	for _, b := range []map[string]int64{
		{"A": -5, "B": 4},
		{"A": math.MinInt64, "B": 1},
		{"A": math.MaxInt64, "B": math.MaxInt64, "C": -1},
	} {
		if _, err := Payments(b); CodeOf(err) != CodeInternal {
			t.Errorf("balances %v: error %v, want internal", b, err)
		}
	}
}

func TestPaymentsCSV(t *testing.T) {
	s := &Snapshot{Period: 7, Through: 37, Balances: map[string]int64{"Bank1MSP": -26, "Bank2MSP": 12, "Bank3MSP": 14}}
	got, err := PaymentsCSV(s)
	if err != nil {
		t.Fatal(err)
	}
	want := "snapshot,through,payer,payee,amount\n7,37,Bank1MSP,Bank3MSP,14\n7,37,Bank1MSP,Bank2MSP,12\n"
	if string(got) != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", got, want)
	}
	// A snapshot stored before ranges has no Through: it covers Period.
	old, err := PaymentsCSV(&Snapshot{Period: 7, Balances: s.Balances})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(old[len(PaymentsHeader):], []byte("7,7,")) {
		t.Fatalf("csv of a one-period snapshot:\n%s", old)
	}
	if d, e := PaymentsDigest(got), PaymentsDigest(old); d == e {
		t.Fatal("two different files share a digest")
	}
	if _, err := PaymentsCSV(&Snapshot{Period: 1, Balances: map[string]int64{"A,B": -1, "C": 1}}); CodeOf(err) != CodeInternal {
		t.Fatalf("an MSP id that breaks the CSV: %v", err)
	}
}

// FuzzPayments checks the netting on any balances that sum to zero: every
// party ends where its balance says, only debtors pay and only creditors
// are paid, every transfer is positive, there are at most debtors +
// creditors - 1 of them, and the CSV lists exactly them.
func FuzzPayments(f *testing.F) {
	f.Add([]byte{0, 0, 0, 26, 1, 0, 0, 12})
	f.Add(bytes.Repeat([]byte{0x80, 0, 0, 1}, 9))
	f.Fuzz(func(t *testing.T, data []byte) {
		balances := map[string]int64{}
		var sum int64
		for i := 0; len(data) >= 4 && i < 40; i++ {
			v := int64(int32(binary.BigEndian.Uint32(data)))
			data = data[4:]
			m := fmt.Sprintf("M%02d", i%20) // repeats merge, as the same MSP
			balances[m] += v
			sum += v
		}
		balances["Z"] = -sum
		pays, err := Payments(balances)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Payments(balances)
		if !slices.Equal(pays, again) {
			t.Fatal("not deterministic")
		}
		moved := map[string]int64{}
		parties := 0
		for _, b := range balances {
			if b != 0 {
				parties++
			}
		}
		for _, p := range pays {
			if p.Amount <= 0 || balances[p.Payer] >= 0 || balances[p.Payee] <= 0 {
				t.Fatalf("transfer %+v with balances %v", p, balances)
			}
			moved[p.Payer] -= p.Amount
			moved[p.Payee] += p.Amount
		}
		for m, b := range balances {
			if moved[m] != b {
				t.Fatalf("%s moves %d, balance %d", m, moved[m], b)
			}
		}
		if parties > 0 && len(pays) > parties-1 {
			t.Fatalf("%d transfers for %d parties", len(pays), parties)
		}
		csv, err := PaymentsCSV(&Snapshot{Period: 3, Through: 5, Balances: balances})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(csv), "\n"), "\n")
		if lines[0]+"\n" != PaymentsHeader || len(lines) != len(pays)+1 {
			t.Fatalf("csv of %d transfers:\n%s", len(pays), csv)
		}
		for i, p := range pays {
			if lines[i+1] != "3,5,"+p.Payer+","+p.Payee+","+strconv.FormatInt(p.Amount, 10) {
				t.Fatalf("line %d %q for %+v", i+1, lines[i+1], p)
			}
		}
	})
}
