package hepsi

import "fmt"

// The ring every preset uses: N = 8192, t = 1032193 (a 20-bit prime, 1 mod
// 2N, so 19 bits a slot), three ciphertext primes of 58, 50 and 50 bits and
// one 54-bit special prime: log2(QP) = 212 ≤ 218, 128-bit security per the
// HomomorphicEncryption.org standard. Depth two (docs/protocol/hepsi.md).
var (
	presetQ = []uint64{288230376151760897, 1125899906826241, 1125899906990081}
	presetP = []uint64{18014398508400641}
)

const (
	presetLogN      = 13
	presetT         = 1032193
	presetItemLimbs = 4 // 76-bit items
	// binsPerRow is the bins one ciphertext holds at these settings.
	presetBinsPerRow = (1 << presetLogN) / presetItemLimbs
	presetHashes     = 3
)

// presetTiers pick the bin capacity (the polynomials' degree) and the
// Paterson-Stockmeyer low degree from the expected items per bin: a larger
// capacity means fewer bundles, so a smaller answer and more sources in the
// query, and costs more per update (recomputing a bin is quadratic in its
// size). TestNoiseAtCapacity decrypts every tier at full capacity.
var presetTiers = []struct{ above, capacity, low int }{
	{0, 64, 8},
	{48, 256, 16},
	{1024, 512, 23},
	{4096, 2048, 45},
}

// ParamsFor returns the documented parameter set for a list of about
// listSize entries with labels of labelSize bytes, queried in batches of
// up to maxBatch (1 to 4,096) identifiers.
func ParamsFor(listSize, maxBatch, labelSize int) (Params, error) {
	if maxBatch < 1 || maxBatch > 4096 {
		return Params{}, fmt.Errorf("%w: batch %d, allowed 1 to 4096", ErrParams, maxBatch)
	}
	if listSize < 0 {
		return Params{}, fmt.Errorf("%w: list size %d", ErrParams, listSize)
	}
	rows := 1
	for 2*maxBatch > rows*presetBinsPerRow {
		rows *= 2
	}
	perBin := (listSize*presetHashes + rows*presetBinsPerRow - 1) / (rows * presetBinsPerRow)
	tier := presetTiers[0]
	for _, t := range presetTiers[1:] {
		if perBin > t.above {
			tier = t
		}
	}
	// Room for the bin-load tail and for items moved on by limb collisions.
	bundles := min(maxBundles, (perBin+perBin/4)/tier.capacity+8)
	p := Params{
		LogN: presetLogN, PlainModulus: presetT, Q: presetQ, P: presetP,
		ItemLimbs: presetItemLimbs, LabelSize: labelSize, Rows: rows, HashCount: presetHashes,
		MaxBatch: maxBatch, BinCapacity: tier.capacity, PSLow: tier.low, MaxBundles: bundles,
	}
	return p, p.Validate()
}
