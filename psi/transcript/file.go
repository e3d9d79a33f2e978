package transcript

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"golang.org/x/crypto/cryptobyte"
)

// Magic and FileVersion open every transcript file.
const (
	Magic       = "RMTX"
	FileVersion = 1
)

// Transcript is the full record of one exchange that both nodes keep and an
// auditor reads: the three parts and both signatures.
type Transcript struct {
	Header   Header
	Request  Request
	Response Response
	// RequestSignature is the requester's signature over the request digest.
	RequestSignature []byte
	// ResponseSignature is the responder's signature over the response digest.
	ResponseSignature []byte
}

// Digests are the four hashes of a transcript. A ledger entry carries
// RequestHash and ResponseHash with the encoded header.
type Digests struct {
	RequestHash    [DigestSize]byte
	RequestDigest  [DigestSize]byte
	ResponseHash   [DigestSize]byte
	ResponseDigest [DigestSize]byte
}

// Digests computes all four digests, checking the parts against the header.
func (t *Transcript) Digests() (Digests, error) {
	var d Digests
	var err error
	if d.RequestHash, err = HashRequest(&t.Header, &t.Request); err != nil {
		return Digests{}, err
	}
	if d.RequestDigest, err = RequestDigest(&t.Header, d.RequestHash); err != nil {
		return Digests{}, err
	}
	if d.ResponseHash, err = HashResponse(&t.Header, &t.Response); err != nil {
		return Digests{}, err
	}
	d.ResponseDigest = ResponseDigest(d.RequestDigest, d.ResponseHash)
	return d, nil
}

// Verify recomputes the digests and checks both signatures against the
// parties' PKIX DER public keys valid in the header's period (from the
// ledger's registry). It does not verify the DLEQ proof: that needs the
// provider's OPRF key (psi/oprf).
func (t *Transcript) Verify(requesterKeys, responderKeys [][]byte) (Digests, error) {
	d, err := t.Digests()
	if err != nil {
		return Digests{}, err
	}
	if err := VerifyRequest(requesterKeys, d.RequestDigest, t.RequestSignature); err != nil {
		return Digests{}, err
	}
	if err := VerifyResponse(responderKeys, d.ResponseDigest, t.ResponseSignature); err != nil {
		return Digests{}, err
	}
	return d, nil
}

// MarshalBinary returns the file encoding of t (see WriteTo).
func (t *Transcript) MarshalBinary() ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, t.fileLen()))
	t.write(buf)
	return buf.Bytes(), nil
}

// WriteTo writes the file encoding of t:
//
//	"RMTX" uint8 file version
//	uint16 length, header   (Header.MarshalBinary)
//	uint32 length, request  (MarshalRequest)
//	uint32 length, response (MarshalResponse)
//	uint8  length, requester signature
//	uint8  length, responder signature
//
// The header comes first so a reader knows every bound before it reads the
// bodies, and each section is length-prefixed so a reader can stream, hash
// or skip sections without parsing them. The bodies are streamed to w
// through a buffer, not assembled in memory first.
func (t *Transcript) WriteTo(w io.Writer) (int64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	t.write(bw)
	err := bw.Flush()
	return cw.n, err
}

// check validates everything WriteTo writes.
func (t *Transcript) check() error {
	if err := checkRequest(&t.Header, &t.Request); err != nil {
		return err
	}
	if err := checkResponse(&t.Header, &t.Response); err != nil {
		return err
	}
	for _, sig := range [][]byte{t.RequestSignature, t.ResponseSignature} {
		if len(sig) == 0 || len(sig) > ecsig.MaxSignatureSize {
			return fmt.Errorf("%w: %d bytes", ErrSignatureSize, len(sig))
		}
	}
	return nil
}

func (t *Transcript) fileLen() int {
	return len(Magic) + 1 + 2 + t.Header.encodedLen() + 4 + requestLen(&t.Header) +
		4 + responseLen(&t.Header, &t.Response) + 2 + len(t.RequestSignature) + len(t.ResponseSignature)
}

// write writes a checked transcript. Errors from w are sticky in the
// writers used (bytes.Buffer never fails, bufio.Writer reports at Flush).
func (t *Transcript) write(w io.Writer) {
	var b cryptobyte.Builder
	b.AddBytes([]byte(Magic))
	b.AddUint8(FileVersion)
	b.AddUint16LengthPrefixed(t.Header.marshal)
	b.AddUint32(uint32(requestLen(&t.Header)))
	w.Write(b.BytesOrPanic())
	writeElements(w, t.Request.Elements)
	w.Write(binary.BigEndian.AppendUint32(nil, uint32(responseLen(&t.Header, &t.Response))))
	writeResponse(w, &t.Response)
	for _, sig := range [][]byte{t.RequestSignature, t.ResponseSignature} {
		w.Write([]byte{byte(len(sig))})
		w.Write(sig)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Parse parses a transcript file held in memory and rejects trailing bytes.
func Parse(data []byte) (*Transcript, error) {
	src := &sliceSource{b: data}
	t, err := parseFile(src)
	if err != nil {
		return nil, err
	}
	if len(src.b) != 0 {
		return nil, ErrTrailingData
	}
	return t, nil
}

// Read reads exactly one transcript from r, leaving r positioned after it,
// so transcripts can be concatenated in one stream. Every section length is
// checked against the bound the header implies before anything is
// allocated; signatures are checked for size but not verified (see Verify).
func Read(r io.Reader) (*Transcript, error) {
	return parseFile(streamSource{r})
}

// MaxFileTranscripts bounds how many transcripts ReadFile takes from one
// file: far more than an operator files at once, far fewer than would
// exhaust memory (each is bounded by its header).
const MaxFileTranscripts = 10_000

// ReadFile reads every transcript of the file at path: transcript files
// concatenate, as `riskmesh node transcript` and the nodes' stores write
// them. An empty file is an error; errors name the file and the
// transcript's position in it.
func ReadFile(path string) ([]*Transcript, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var out []*Transcript
	for {
		if _, err := r.Peek(1); errors.Is(err, io.EOF) && len(out) > 0 {
			return out, nil
		}
		if len(out) == MaxFileTranscripts {
			return nil, fmt.Errorf("%s: more than %d transcripts", path, MaxFileTranscripts)
		}
		t, err := Read(r)
		if err != nil {
			return nil, fmt.Errorf("%s: transcript %d: %w", path, len(out)+1, err)
		}
		out = append(out, t)
	}
}

// source hands out the next n bytes of a transcript file. Read and Parse
// share one parser over two sources, so a file parses the same either way
// and in-memory parsing does not copy sections before parsing them.
type source interface {
	take(n int) ([]byte, error)
}

type sliceSource struct{ b []byte }

func (s *sliceSource) take(n int) ([]byte, error) {
	if len(s.b) < n {
		return nil, fmt.Errorf("%w: truncated", ErrMalformed)
	}
	out := s.b[:n:n]
	s.b = s.b[n:]
	return out, nil
}

type streamSource struct{ r io.Reader }

func (s streamSource) take(n int) ([]byte, error) { return readN(s.r, n) }

func parseFile(r source) (*Transcript, error) {
	pre, err := r.take(len(Magic) + 1 + 2)
	if err != nil {
		return nil, err
	}
	if string(pre[:len(Magic)]) != Magic {
		return nil, ErrMagic
	}
	if pre[len(Magic)] != FileVersion {
		return nil, fmt.Errorf("%w: file version %d", ErrVersion, pre[len(Magic)])
	}
	hdrLen := int(binary.BigEndian.Uint16(pre[len(Magic)+1:]))
	if hdrLen > MaxHeaderSize {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrMalformed, hdrLen)
	}
	hdr, err := r.take(hdrLen)
	if err != nil {
		return nil, err
	}
	h, err := ParseHeader(hdr)
	if err != nil {
		return nil, err
	}
	t := &Transcript{Header: *h}

	reqLen, err := readUint32(r)
	if err != nil {
		return nil, err
	}
	if want := requestLen(h); reqLen != want {
		return nil, fmt.Errorf("%w: request of %d bytes, want %d", ErrCountMismatch, reqLen, want)
	}
	body, err := r.take(reqLen)
	if err != nil {
		return nil, err
	}
	req, err := ParseRequest(h, body)
	if err != nil {
		return nil, err
	}
	t.Request = *req

	respLen, err := readUint32(r)
	if err != nil {
		return nil, err
	}
	if respLen > maxResponseLen(h) {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrMalformed, respLen)
	}
	if body, err = r.take(respLen); err != nil {
		return nil, err
	}
	resp, err := ParseResponse(h, body)
	if err != nil {
		return nil, err
	}
	t.Response = *resp

	if t.RequestSignature, err = readSignature(r); err != nil {
		return nil, err
	}
	if t.ResponseSignature, err = readSignature(r); err != nil {
		return nil, err
	}
	return t, nil
}

func readSignature(r source) ([]byte, error) {
	n, err := r.take(1)
	if err != nil {
		return nil, err
	}
	if n[0] == 0 || int(n[0]) > ecsig.MaxSignatureSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrSignatureSize, n[0])
	}
	sig, err := r.take(int(n[0]))
	return bytes.Clone(sig), err
}

func readUint32(r source) (int, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(b)
	if v > 1<<30 {
		// Far above any bound; keeps the int conversion safe on 32-bit.
		return 0, fmt.Errorf("%w: section of %d bytes", ErrMalformed, v)
	}
	return int(v), nil
}

// readChunk is how much readN allocates ahead of the bytes it has read, so a
// truncated file that declares a large section costs at most this much more
// memory than its real size.
const readChunk = 1 << 20

// readN reads n bytes; callers bound n first. Up to readChunk it allocates
// exactly n; beyond, it grows as bytes actually arrive.
func readN(r io.Reader, n int) ([]byte, error) {
	if n <= readChunk {
		b := make([]byte, n)
		return b, readFull(r, b)
	}
	b := make([]byte, 0, readChunk)
	for len(b) < n {
		m := min(n-len(b), readChunk)
		b = slices.Grow(b, m)
		if err := readFull(r, b[len(b):len(b)+m]); err != nil {
			return nil, err
		}
		b = b[:len(b)+m]
	}
	return b, nil
}

// readFull is io.ReadFull with truncation reported as ErrMalformed.
func readFull(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated", ErrMalformed)
		}
		return err
	}
	return nil
}
