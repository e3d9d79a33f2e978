// Package api serves the node's business API, the gRPC service
// riskmesh.v1.RiskMesh (proto/riskmesh/v1/node.proto, docs/api.md), to the
// institution's own systems.
//
// It is glue: query methods go to the requester side (node/requester),
// list and catalog methods to the provider side (node/provider), key
// rotation, backups and health to the daemon. Each is reached through a
// small interface defined here, so the package is tested without them. What
// the package itself adds is what must hold whatever is behind it:
//
//   - Access. The API carries raw customer identifiers, so it listens on a
//     unix socket that only the node's user may open (mode 0600) and,
//     optionally, on TCP with mutual TLS against the institution's client CA.
//     Over TCP the admin methods (ImportList, RefreshLists, CatalogStatus,
//     RotateKeys, Backup) are allowed only to the client certificates named
//     in Config.AdminClients; over the socket the file permission is the
//     whole check. Health is open to every authenticated caller.
//   - Bounds. A request message is at most Config.MaxRecvSize bytes (derived
//     from the identifier limit) and a query names at most
//     Config.MaxIdentifiers identifiers, both checked before the requester
//     sees the request.
//   - Errors. Failures become gRPC status codes (InvalidArgument, NotFound,
//     FailedPrecondition, Unavailable, DeadlineExceeded, ...) by their
//     sentinel errors, not by their text.
//
// Nothing here logs identifiers: logs name the method, the status code and
// counts only.
package api
