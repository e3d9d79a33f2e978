// Package metrics is the node's Prometheus instrumentation and its
// /metrics and /healthz endpoints.
//
// Every series lives in the node's own registry (never the process-wide
// default one), so two nodes in one process, as in the integration tests,
// do not mix their numbers. Labels take values from small fixed sets only:
// a status, a request kind (the peer message's field name) or a category
// name the consortium defines. No series carries an MSP id, a query id or
// anything derived from an identifier, so a scrape reveals neither who
// asks whom nor what.
//
// Events the daemon sees at its seams are recorded by wrapping them:
// InstrumentQuery wraps the requester's Query, InstrumentHandler the peer
// handler a provider answers with, InstrumentDo the calls a requester makes
// to providers. State owned by components (outbox depth, dead entries,
// ledger submission errors, open peer connections, catalog ages) is read at
// scrape time from functions given in Options.
//
// /healthz answers the daemon's HealthFunc as JSON (protojson of
// riskmesh.v1.HealthResponse), with status 200 while the node serves
// (SERVING or DEGRADED) and 503 otherwise.
//
// The same seams mark what they wrap in an execution trace (runtime/trace):
// a task "query" per business-API query, a region "request <kind>" per
// call to a provider, a task "serve <kind>" per request answered, so that
// a trace from ProfileHandler (served on its own loopback listener) shows
// where each query's time went. Their names come from the same fixed sets
// as the labels.
package metrics
