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

// Backup writes consistent copies of node.db and, on the node hosting the
// embedded ledger, of the ledger file into req.Dir while the node runs.
// Each copy is taken in one bbolt read transaction (a view of one moment
// that writers do not disturb), written to a temporary file in the
// directory, fsync'd, and only then given its final name by a hard link,
// which fails rather than replace an existing file; the directory is
// fsync'd last. A ledger copy's log is verified before it gets its name.
// If any copy fails, the copies this call already named are removed.
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
		path string
		data io.WriterTo
	}
	sources := []source{{riskmeshv1.BackupKind_BACKUP_KIND_NODE_DB, "node", boltCopy{n.db}}}
	if n.ledger.embedded != nil {
		sources = append(sources, source{riskmeshv1.BackupKind_BACKUP_KIND_LEDGER, "ledger", n.ledger.embedded})
	}
	for i := range sources {
		sources[i].path = filepath.Join(dir, sources[i].path+"-"+now.Format(backupStamp)+".db")
		if _, err := os.Lstat(sources[i].path); err == nil {
			return nil, fmt.Errorf("%w: %s", errBackupExists, sources[i].path)
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
		size, sum, err := writeCopy(ctx, src.path, src.data, check)
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

// writeCopy writes data to a new file at path (see Backup), running check
// on the complete temporary file before naming it, and returns the file's
// length and SHA-256 digest.
func writeCopy(ctx context.Context, path string, data io.WriterTo, check func(tmp string) error) (int64, [32]byte, error) {
	var sum [32]byte
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, sum, fmt.Errorf("daemon: backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	size, err := data.WriteTo(ctxWriter{ctx, io.MultiWriter(tmp, h)})
	if err == nil {
		err = tmp.Sync()
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
	return size, sum, nil
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
