package catalog

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestLabelRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		label Label
		enc   []byte
	}{
		{
			name:  "smallest",
			label: Label{Category: 1},
			enc:   []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		},
		{
			name:  "every field",
			label: Label{Category: 3, Reason: 0x0102, Listed: 20468, Reference: [8]byte{'C', 'A', 'S', 'E', 0, 0, 0, 9}},
			enc:   []byte{1, 3, 1, 2, 0, 0, 0x4f, 0xf4, 'C', 'A', 'S', 'E', 0, 0, 0, 9},
		},
		{
			name:  "largest",
			label: Label{Category: 255, Reason: 0xffff, Listed: MaxDate, Reference: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
			enc:   []byte{1, 255, 0xff, 0xff, 0x00, 0x2c, 0xc0, 0xa0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tt.label.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, tt.enc) {
				t.Fatalf("MarshalBinary = %x, want %x", enc, tt.enc)
			}
			var got Label
			if err := got.UnmarshalBinary(enc); err != nil {
				t.Fatal(err)
			}
			if got != tt.label {
				t.Fatalf("UnmarshalBinary = %+v, want %+v", got, tt.label)
			}
		})
	}
}

func TestLabelRejects(t *testing.T) {
	valid := []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	with := func(i int, b byte) []byte {
		c := bytes.Clone(valid)
		c[i] = b
		return c
	}
	tests := []struct {
		name string
		enc  []byte
		want error
	}{
		{"empty", nil, ErrLabel},
		{"short", valid[:15], ErrLabel},
		{"long", append(bytes.Clone(valid), 0), ErrLabel},
		{"version 0", with(0, 0), ErrLabelVersion},
		{"version 2", with(0, 2), ErrLabelVersion},
		{"category 0", with(1, 0), ErrLabel},
		{"date after 9999-12-31", []byte{1, 1, 0, 0, 0x00, 0x2c, 0xc0, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0}, ErrDate},
		{"date 2^32-1", []byte{1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, ErrDate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Label{Category: 9}
			err := l.UnmarshalBinary(tt.enc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if l != (Label{Category: 9}) {
				t.Fatalf("failed UnmarshalBinary modified the label: %+v", l)
			}
		})
	}
	if _, err := (Label{}).MarshalBinary(); !errors.Is(err, ErrLabel) {
		t.Fatalf("MarshalBinary of the zero label: err = %v, want ErrLabel", err)
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		civil string
		days  Date
	}{
		{"1970-01-01", 0},
		{"1970-01-02", 1},
		{"2000-02-29", 11016},
		{"2026-01-15", 20468},
		{"9999-12-31", MaxDate},
	}
	for _, tt := range tests {
		t.Run(tt.civil, func(t *testing.T) {
			d, err := ParseDate(tt.civil)
			if err != nil {
				t.Fatal(err)
			}
			if d != tt.days {
				t.Fatalf("ParseDate = %d, want %d", d, tt.days)
			}
			if s := d.String(); s != tt.civil {
				t.Fatalf("String = %s", s)
			}
			if back, err := DateOf(d.Time()); err != nil || back != d {
				t.Fatalf("DateOf(Time()) = %d, %v", back, err)
			}
		})
	}
	t.Run("civil date in the time's own zone", func(t *testing.T) {
		// 23:30 on 2026-01-15 in UTC+8 is still 15:30 UTC the same day; 00:30
		// on 2026-01-16 in UTC+8 is 16:30 UTC on the 15th, but the civil date
		// is the 16th.
		zone := time.FixedZone("UTC+8", 8*3600)
		d, err := DateOf(time.Date(2026, 1, 16, 0, 30, 0, 0, zone))
		if err != nil || d != 20469 {
			t.Fatalf("DateOf = %d, %v, want 20469", d, err)
		}
	})
	for _, bad := range []string{"1969-12-31", "10000-01-01", "2026-02-30", "2026-1-5", ""} {
		t.Run("rejects "+bad, func(t *testing.T) {
			if _, err := ParseDate(bad); !errors.Is(err, ErrDate) {
				t.Fatalf("err = %v, want ErrDate", err)
			}
		})
	}
}
