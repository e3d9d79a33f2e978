// Package ident turns raw identifiers into the typed canonical strings that
// RiskMesh hashes and matches (docs/protocol/identifiers.md): the same person must
// give the same bytes on every institution's side, so every rule here is
// deterministic and independent of locale, clock and configuration other than
// the explicit Config.
//
// Canonical forms are "<type>:<value>":
//
//	phone:+8613800138000          E.164 (ITU-T E.164: "+", country code, at most 15 digits)
//	idcard:11010519491231002X     PRC resident identity number (GB 11643-1999, ISO 7064 MOD 11-2 check)
//	card:6222020200112233446      bank card number, 12-19 digits (ISO/IEC 7812, Luhn check)
//	email:alice@example.com       addr-spec subset of RFC 5322, lower-cased
//	device:AbC-123                opaque device id, printable ASCII, case preserved
//
// What it does not promise: phone numbers are checked for E.164 shape, not
// against per-country numbering plans (no libphonenumber metadata); a
// well-formed but unassigned number is accepted. E-mail addresses get no
// provider-specific folding (dots or "+tags" in Gmail local parts are kept)
// and no IDNA: non-ASCII addresses are rejected. Errors never contain the
// raw identifier, because errors end up in logs.
package ident
