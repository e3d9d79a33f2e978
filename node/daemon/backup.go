package daemon

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

var _ api.Backuper = (*node)(nil)

// backupStamp is the UTC time in a backup file's name: node-<stamp>.db.
const backupStamp = "20060102T150405Z"

// Backup kinds, the first word of a copy's name; a sealed copy is bound to
// its kind (backupLocation) and its name ends in sealedSuffix.
const (
	backupNode   = "node"
	backupLedger = "ledger"
	sealedSuffix = ".sealed"
)

// backupLocation is where a sealed copy of kind is bound (node/seal).
func backupLocation(kind string) string { return "backup/" + kind }

// Backup writes consistent copies of node.db and, on the node hosting the
// embedded ledger, of the ledger file into req.Dir while the node runs.
// Each copy is taken in one bbolt read transaction (a view of one moment
// that writers do not disturb, after the node's logs are folded in),
// written to a temporary file in the directory, fsync'd, and only then
// given its final name by a hard link, which fails rather than replace an
// existing file; the directory is fsync'd last. A ledger copy's log is
// verified before it gets its name.
// If any copy fails, the copies this call already named are removed.
//
// With data at rest sealed, each copy is a node/seal stream named
// <kind>-<time>.db.sealed (UnsealBackup turns it back into a file to
// restore): a ledger copy is first written and verified in plain beside
// the live ledger in DataDir, where the same bytes already are, then sealed
// into the backup directory. The size and digest are the sealed file's.
func (n *node) Backup(ctx context.Context, req *riskmeshv1.BackupRequest) (*riskmeshv1.BackupResponse, error) {
	// One backup at a time: the names carry the second they were taken in.
	n.backupMu.Lock()
	defer n.backupMu.Unlock()
	dir := filepath.Clean(req.GetDir())
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBackupDir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", errBackupDir, dir)
	}
	now := time.Now().UTC().Truncate(time.Second)
	type source struct {
		kind riskmeshv1.BackupKind
		path string // the kind's word, then the copy's path
		data io.WriterTo
	}
	sources := []source{{riskmeshv1.BackupKind_BACKUP_KIND_NODE_DB, backupNode, boltCopy{n.db}}}
	if n.ledger.embedded != nil {
		sources = append(sources, source{riskmeshv1.BackupKind_BACKUP_KIND_LEDGER, backupLedger, n.ledger.embedded})
	}
	suffix := ".db"
	if n.seal != nil {
		suffix += sealedSuffix
	}
	for i := range sources {
		sources[i].path = filepath.Join(dir, sources[i].path+"-"+now.Format(backupStamp)+suffix)
		if _, err := os.Lstat(sources[i].path); err == nil {
			return nil, fmt.Errorf("%w: %s", errBackupExists, sources[i].path)
		}
	}

	// The requester's and the provider's logs hold writes they told
	// durable before node.db does (internal/groupcommit): folded first,
	// every one of them is in the copy.
	if n.req != nil {
		if err := n.req.Settle(); err != nil {
			return nil, fmt.Errorf("daemon: backup: %w", err)
		}
	}
	if n.prov != nil {
		if err := n.prov.Settle(); err != nil {
			return nil, fmt.Errorf("daemon: backup: %w", err)
		}
	}
	resp := &riskmeshv1.BackupResponse{TakenAt: timestamppb.New(now)}
	for _, src := range sources {
		f := &riskmeshv1.BackupFile{Kind: src.kind, Path: src.path}
		var check func(string) error
		if src.kind == riskmeshv1.BackupKind_BACKUP_KIND_LEDGER {
			check = func(tmp string) error {
				head, err := accounting.VerifyLogFile(ctx, tmp, nil)
				f.LedgerHead = &riskmeshv1.LedgerLogHead{Sequence: head.Sequence, Hash: head.Hash[:]}
				return err
			}
		}
		size, sum, err := n.backupCopy(ctx, src.path, src.data, check)
		if err != nil {
			for _, done := range resp.Files {
				os.Remove(done.GetPath())
			}
			return nil, err
		}
		f.Size, f.Sha256 = uint64(size), sum[:]
		resp.Files = append(resp.Files, f)
	}
	n.log.Info("backup written", slog.Int("files", len(resp.Files)))
	return resp, nil
}

// backupCopy writes one copy: writeCopy's, sealed at the location of the
// copy's kind when data at rest is sealed. A copy with a check is first
// written and checked in plain in DataDir, then sealed.
func (n *node) backupCopy(ctx context.Context, path string, data io.WriterTo, check func(tmp string) error) (int64, [32]byte, error) {
	if n.seal == nil {
		return writeCopy(ctx, path, data, check, nil)
	}
	kind, _, _ := strings.Cut(filepath.Base(path), "-")
	sealTo := func(w io.Writer) (io.WriteCloser, error) { return n.seal.NewWriter(w, backupLocation(kind)) }
	if check == nil {
		return writeCopy(ctx, path, data, nil, sealTo)
	}
	plain, err := os.CreateTemp(n.cfg.DataDir, ".backup-*.tmp")
	if err != nil {
		return 0, [32]byte{}, fmt.Errorf("daemon: backup: %w", err)
	}
	plain.Close()
	os.Remove(plain.Name())
	defer os.Remove(plain.Name())
	if _, _, err := writeCopy(ctx, plain.Name(), data, check, nil); err != nil {
		return 0, [32]byte{}, err
	}
	f, err := os.Open(plain.Name())
	if err != nil {
		return 0, [32]byte{}, fmt.Errorf("daemon: backup: %w", err)
	}
	defer f.Close()
	return writeCopy(ctx, path, f, nil, sealTo)
}

// writeCopy writes data to a new file at path (see Backup), through
// sealTo's writer if it is not nil, running check on the complete
// temporary file before naming it, and returns the file's length and
// SHA-256 digest.
func writeCopy(ctx context.Context, path string, data io.WriterTo, check func(tmp string) error, sealTo func(io.Writer) (io.WriteCloser, error)) (int64, [32]byte, error) {
	var sum [32]byte
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, sum, fmt.Errorf("daemon: backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	var out io.Writer = io.MultiWriter(tmp, h)
	var sealed io.WriteCloser
	if sealTo != nil {
		if sealed, err = sealTo(out); err != nil {
			tmp.Close()
			return 0, sum, fmt.Errorf("daemon: backup: %w", err)
		}
		out = sealed
	}
	_, err = data.WriteTo(ctxWriter{ctx, out})
	if err == nil && sealed != nil {
		err = sealed.Close()
	}
	if err == nil {
		err = tmp.Sync()
	}
	var fi os.FileInfo
	if err == nil {
		fi, err = tmp.Stat()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && check != nil {
		err = check(tmp.Name())
	}
	if err != nil {
		return 0, sum, fmt.Errorf("daemon: backup %s: %w", filepath.Base(path), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, sum, fmt.Errorf("%w: %s", errBackupExists, path)
		}
		return 0, sum, fmt.Errorf("daemon: backup: %w", err)
	}
	if err := os.Remove(tmp.Name()); err != nil {
		return 0, sum, fmt.Errorf("daemon: backup: %w", err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return 0, sum, fmt.Errorf("daemon: backup: %w", err)
	}
	h.Sum(sum[:0])
	return fi.Size(), sum, nil
}

// boltCopy writes a consistent copy of a bbolt file.
type boltCopy struct{ db *bolt.DB }

func (c boltCopy) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// ctxWriter stops a copy once ctx ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
