package provider

import (
	"sync"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// maxLiveAnswerBytes bounds the encoded live answers liveAnswers keeps.
const maxLiveAnswerBytes = 64 << 20

// liveAnswers keeps the latest live answers in memory, by exchange, so that
// the same query sent again (its answer was lost on the way back) gets the
// same answer and the same receipt: no second evaluation, which costs
// seconds of CPU per query, and a record that does not change. Oldest
// answers go first beyond maxLiveAnswerBytes; an answer no longer kept, or
// one made before a restart, is evaluated again.
type liveAnswers struct {
	mu    sync.Mutex
	m     map[string]*liveAnswer
	order []string // keys, oldest first
	bytes int
}

type liveAnswer struct {
	query [transcript.DigestSize]byte
	resp  *riskmeshv1.LiveAnswer
}

// get returns the answer kept for exchange key if it answers query.
func (c *liveAnswers) get(key []byte, query [transcript.DigestSize]byte) *riskmeshv1.LiveAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.m[string(key)]; a != nil && a.query == query {
		return a.resp
	}
	return nil
}

// put keeps resp as the answer to query on exchange key.
func (c *liveAnswers) put(key []byte, query [transcript.DigestSize]byte, resp *riskmeshv1.LiveAnswer) {
	size := len(resp.GetAnswer()) + len(resp.GetResponderSignature())
	if size > maxLiveAnswerBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*liveAnswer)
	}
	k := string(key)
	if _, ok := c.m[k]; ok { // an exchange takes one query: only its first answer is put
		return
	}
	for c.bytes+size > maxLiveAnswerBytes && len(c.order) > 0 {
		old := c.m[c.order[0]]
		c.bytes -= len(old.resp.GetAnswer()) + len(old.resp.GetResponderSignature())
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = &liveAnswer{query: query, resp: resp}
	c.order = append(c.order, k)
	c.bytes += size
}
