// Package config is the node's configuration file, node.yaml: where the
// node keeps its data and keys, where it listens, how it reaches the ledger,
// which lists it provides and the tuning of every component
// (docs/configuration.md lists every key with its default).
//
// The file is YAML (go.yaml.in/yaml/v3), decoded strictly: an unknown or
// misspelt key is an error naming its line, so a typo never silently falls
// back to a default. Durations are Go duration strings ("2ms", "1h30m").
// Relative paths are relative to the directory holding the file, so a node
// directory can be moved as a whole.
//
// A zero tuning value (peer, outbox, requester, provider, registry, api
// sections) means the owning package's default, the one written next to the
// key in docs/configuration.md; Load fills only the node-level defaults
// (paths, listen addresses, ledger backend, logging), so the packages stay
// the one place each tuning default is defined.
//
// This package reads, defaults and checks the file; it does not turn it
// into the components' settings. That conversion has one home,
// node/daemon's FromConfig, the composition root, which already imports
// every component: built here, it would make this package import them
// all, and the settings type it fills (daemon.Config) would have to move
// out of the package that owns it. What stays here builds a component's
// value only where building it is how the file is checked: a list
// source's reader (Source.Open: its format and column mapping) and the
// identifier normaliser (Identifiers.Normalizer: the calling code).
//
// Secrets do not belong in the file: a PostgreSQL connection string with a
// password is read from the environment variable named by dsn_env, the
// PKCS#11 PIN from keys.hsm.pin_env and the sandbox's sealing passphrase
// from at_rest.passphrase_env, and key material lives in the identity
// directory or the token (package identity).
package config
