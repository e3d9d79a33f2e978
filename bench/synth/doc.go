// Package synth generates synthetic risk lists for the demo, tests and
// benchmarks: a consortium of institutions with black, grey and yellow
// lists of typed identifiers, optionally with planted false positives
// (listings a requester's business would find wrong: Institution.FalsePositives,
// Hit.False), query batches with planted hits and their
// exact expected results (Batch.Request is the business API query,
// Batch.Check compares a node's answer with the expectation), and writers
// for the formats a node reads (CSV, NDJSON, a PostgreSQL table; see
// node/lists and docs/lists.md).
//
// Everything is deterministic from a seed, through math/rand/v2's ChaCha8:
// this is test data, not key material, and nothing here must be secret or
// unpredictable. The same seed and configuration give the same lists and
// batches with the same Go release.
//
// What is realistic: identifiers pass psi/ident's checks the way real ones
// do (E.164 mobile numbers in real Chinese, Hong Kong, Singapore, UK and US
// ranges; resident identity numbers with province-level region codes,
// calendar birth dates and the ISO 7064 check character, X included; bank
// card numbers of 16 and 19 digits with a Luhn check digit; e-mail
// addresses from pinyin names; advertising ids, Android ids and IMEIs); files
// hold them in the mixed raw forms business systems store (separators,
// case, stray spaces); lists differ in size and category mix, and some
// people are on several institutions' lists with labels of their own, often
// in the same category.
//
// What is not: values are uniformly random within their ranges, so there are
// no families of related identifiers (one person's phone and card together),
// no clustering in time, no typos beyond the planted invalid identifiers, and
// city, county and BIN codes are made up. E-mail domains are reserved
// example names; phone and card numbers may coincide with real ones and must
// stay on the machine that generates them.
package synth
