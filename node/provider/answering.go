package provider

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// answering holds the exchanges whose answer is being made, or is
// journalled and not yet folded into node.db. The replay lookup (check 10
// of evaluate) reads node.db directly, so without it a copy of a request
// sent while the first was evaluated, or within groupcommit.FoldAfter of
// its answer's journal write, was evaluated again, unbilled, before the
// journal transaction found the first answer and returned it: a member
// could have each paid request evaluated several times over by sending
// it again at once. A copy now waits for the first's turn and reads its
// answer through the journal (docs/node-provider.md, "Evaluate: checks in
// order").
type answering struct {
	mu    sync.Mutex
	turns map[string]*answerTurn
}

// answerTurn is one request's turn at answering its exchange: done closes
// once its answer is journalled, or once it ended without one.
type answerTurn struct {
	done chan struct{}
}

// claim returns the exchange key's turn: a new one, first, if no request
// holds it, else the holder's, for the caller to wait on.
func (a *answering) claim(key []byte) (turn *answerTurn, first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.turns[string(key)]; ok {
		return t, false
	}
	if a.turns == nil {
		a.turns = map[string]*answerTurn{}
	}
	t := &answerTurn{done: make(chan struct{})}
	a.turns[string(key)] = t
	return t, true
}

// journalled wakes the requests waiting on turn: the exchange's answer is
// durable in the journal, readable through it. The turn is kept until the
// answer is folded (foldedOn).
func (a *answering) journalled(turn *answerTurn) { close(turn.done) }

// ended gives the exchange up after a turn that journalled no answer and
// wakes the requests waiting on it, one of which takes its own turn.
func (a *answering) ended(key []byte, turn *answerTurn) {
	a.forget(key, turn)
	close(turn.done)
}

// foldedOn has tx, the journal transaction that stores the turn's answer,
// forget the turn once node.db holds it: the replay lookup then finds the
// answer there. A transaction that is rolled back forgets nothing.
func (a *answering) foldedOn(tx *bolt.Tx, key []byte, turn *answerTurn) {
	k := string(key)
	tx.OnCommit(func() { a.forget([]byte(k), turn) })
}

func (a *answering) forget(key []byte, turn *answerTurn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.turns[string(key)] == turn {
		delete(a.turns, string(key))
	}
}
