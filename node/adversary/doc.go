// Package adversary plays dishonest consortium members against real nodes,
// for the TestAdversary tests of this package and of the command line.
//
// Start builds a small consortium in one process the way nodes run it: an
// embedded ledger, provider institutions running node/provider behind a real
// node/peer QUIC listener, and a requester institution running
// node/requester behind the real business API (node/api) on a unix socket.
// Each provider's listener can be given an Intercept that answers in the
// provider's place, with its own keys and connection: that is the dishonest
// provider. Member registers one more institution whose certificate can
// open raw QUIC connections to the providers, or send raw bytes to the API:
// that is the dishonest requester. Config.Live makes the providers serve
// the category live as well, for the live-mode attacks.
//
// The tests here are what docs/threat-model.md (sections "Provider",
// "Requester", "Network attacker") and docs/benchmarks.md ("Soak") cite:
// hostile provider error text, requests built to exhaust the API's memory,
// and a soak of malformed peer messages and API requests while honest
// queries run.
package adversary
