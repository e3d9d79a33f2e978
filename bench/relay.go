package bench

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// relay forwards UDP datagrams between clients and one server and counts
// their bytes. With a link it delays each datagram by a fixed latency and
// paces each client's traffic in each direction at a rate: a userspace
// stand-in for tc netem on kernels without it. QUIC runs through it
// unchanged (the server sees the relay's address).
type relay struct {
	conn   *net.UDPConn // the address clients dial
	target *net.UDPAddr
	link   *WAN // nil: forwarded at once

	// up and down count the UDP payload bytes relayed to the server and
	// back to its clients.
	up, down atomic.Int64

	mu      sync.Mutex
	clients map[netip.AddrPort]*relayClient
	closed  bool

	// The goroutines, by role, so Close can stop them in order: the
	// reader of clients' datagrams, the readers of the server's, and the
	// pipes' deliverers.
	serving, readers, pipes sync.WaitGroup
}

// relayClient is one client's pair of paced pipes and its socket to the
// server.
type relayClient struct {
	upstream   *net.UDPConn
	toServer   *pipe
	fromServer *pipe
}

// pipe delivers datagrams in order, each at its due time. Pacing is
// computed when a datagram enters: it leaves the link when the previous
// one has, plus its own transmission time, and arrives Delay later.
// Without a link it is due at once.
type pipe struct {
	ch   chan delayed
	free time.Time // when the link is free again
	link *WAN
}

type delayed struct {
	data []byte
	due  time.Time
}

// pipeQueue bounds each pipe's queue; a datagram arriving at a full queue
// is dropped, as a router's would be.
const pipeQueue = 4096

// maxDatagram bounds the datagrams relayed (QUIC sends at most 1,452 bytes
// of UDP payload on loopback without path MTU discovery).
const maxDatagram = 1 << 16

// newRelay starts a relay listening on listen (host:port; port 0 picks
// one) in front of target.
func newRelay(listen string, target *net.UDPAddr, link *WAN) (*relay, error) {
	addr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	r := &relay{conn: conn, target: target, link: link, clients: map[netip.AddrPort]*relayClient{}}
	r.serving.Go(r.serve)
	return r, nil
}

// Addr is the address clients dial instead of the server's.
func (r *relay) Addr() net.Addr { return r.conn.LocalAddr() }

func (r *relay) serve() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		c, err := r.client(from)
		if err != nil {
			continue
		}
		r.up.Add(int64(n))
		c.toServer.send(buf[:n])
	}
}

// client returns the state of the client at addr, creating it (a socket
// to the server and two pipes) on its first datagram.
func (r *relay) client(addr netip.AddrPort) (*relayClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, net.ErrClosed
	}
	if c, ok := r.clients[addr]; ok {
		return c, nil
	}
	up, err := net.DialUDP("udp", nil, r.target)
	if err != nil {
		return nil, err
	}
	c := &relayClient{upstream: up, toServer: newPipe(r.link), fromServer: newPipe(r.link)}
	r.clients[addr] = c
	r.pipes.Go(func() { c.toServer.run(func(b []byte) { up.Write(b) }) })
	r.pipes.Go(func() { c.fromServer.run(func(b []byte) { r.conn.WriteToUDPAddrPort(b, addr) }) })
	r.readers.Go(func() {
		buf := make([]byte, maxDatagram)
		for {
			n, err := up.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // e.g. ICMP unreachable while the server restarts
			}
			r.down.Add(int64(n))
			c.fromServer.send(buf[:n])
		}
	})
	return c, nil
}

func newPipe(link *WAN) *pipe { return &pipe{ch: make(chan delayed, pipeQueue), link: link} }

// send queues a copy of data. Only one goroutine sends on a pipe.
func (p *pipe) send(data []byte) {
	due := time.Now()
	if p.link != nil {
		start := p.free
		if start.Before(due) {
			start = due
		}
		p.free = start.Add(time.Duration(int64(len(data)) * 8 * int64(time.Second) / p.link.Rate))
		due = p.free.Add(p.link.Delay)
	}
	select {
	case p.ch <- delayed{data: append([]byte(nil), data...), due: due}:
	default: // queue full: dropped
	}
}

// run delivers queued datagrams at their due times until the pipe closes.
func (p *pipe) run(deliver func([]byte)) {
	for d := range p.ch {
		if wait := time.Until(d.due); wait > 0 {
			time.Sleep(wait)
		}
		deliver(d.data)
	}
}

// Close stops relaying and waits for the relay's goroutines. Datagrams
// still in flight are dropped.
func (r *relay) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	err := r.conn.Close()
	r.serving.Wait() // no more datagrams from clients, no new clients
	for _, c := range r.clients {
		c.upstream.Close()
	}
	r.readers.Wait() // no more datagrams from the server
	for _, c := range r.clients {
		close(c.toServer.ch)
		close(c.fromServer.ch)
	}
	r.pipes.Wait()
	return err
}

// expose returns the address clients should dial to reach a server at
// addr: addr itself, or with link set, a new relay emulating link in front
// of it. close stops the relay (nothing for a direct address).
func expose(addr net.Addr, link *WAN) (dial string, close func() error, err error) {
	if link == nil {
		return addr.String(), func() error { return nil }, nil
	}
	udp, ok := addr.(*net.UDPAddr)
	if !ok {
		return "", nil, fmt.Errorf("relay: %s is not a UDP address", addr)
	}
	r, err := newRelay("127.0.0.1:0", udp, link)
	if err != nil {
		return "", nil, err
	}
	return r.Addr().String(), r.Close, nil
}
