package ident

import "testing"

func BenchmarkNormalize(b *testing.B) {
	inputs := []struct {
		typ Type
		raw string
	}{
		{Phone, "+86 138-0013-8000"},
		{IDCard, "11010519491231002x"},
		{Card, "6222 0202 0011 2233 49"},
		{Email, " Alice.Smith@Example.COM "},
		{Device, "6B29FC40-CA47-1067-B31D-00dd010662DA"},
	}
	for _, in := range inputs {
		b.Run(string(in.typ), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(in.typ, in.raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
	b.Run("ParseID/phone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseID("phone:+8613800138000"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
	})
}
