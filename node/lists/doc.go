// Package lists reads an institution's risk lists from where they already
// live (CSV, TSV and NDJSON files, or a PostgreSQL query) and turns them into
// catalogpsi.Entry values for the catalog builder (docs/architecture.md;
// formats, mapping and bounds in docs/lists.md).
//
// Every source is a Source: Entries streams the entries of one category as an
// iter.Seq2, so a list of tens of millions of rows is never held in memory and
// a consumer that stops early (cancelled refresh, failed build) releases the
// file or database cursor at once. Identifiers are normalised with psi/ident.
// A row that cannot become an entry (an identifier that does not normalise, a
// bad category, reason, date or reference) is reported as a *RowError carrying
// the row number and the reason and iteration goes on; input that is not the
// declared format at all (broken quoting, invalid JSON, an over-long record)
// ends the stream with a *FormatError carrying the line number.
//
// What the package does not promise: errors never contain raw identifiers or
// other field values (they end up in logs), so a rejected row must be found
// by its number; it does not deduplicate identifiers (the same identifier
// listed twice is yielded twice, and the catalog builder decides); it does
// not schedule refreshes or watch files; TSV is read with the same quoting
// rules as CSV (RFC 4180 with a tab separator), not the IANA "no quoting"
// variant.
package lists
