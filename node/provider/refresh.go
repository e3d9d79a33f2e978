package provider

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Refresh re-reads the named sources (all if names is empty), reports what
// each holds, and asks Run to bring the catalogs up to date. A source that
// cannot be read is reported in its ListImport's error, not as Refresh's
// error; an unknown name is ErrUnknownSource and nothing is read.
//
// Catalog digests are immutable per period on the ledger, so new list
// contents reach requesters with the next period's catalog, unless the
// current period's catalog is not published yet. Categories served live
// have their live databases updated before Refresh returns, unless another
// call is building one from the whole list: that build applies the list
// as it stands when it ends (live.go).
func (p *Provider) Refresh(ctx context.Context, names []string) ([]*riskmeshv1.ListImport, error) {
	sources, err := p.sourcesNamed(names)
	if err != nil {
		return nil, err
	}
	out := make([]*riskmeshv1.ListImport, 0, len(sources))
	for _, s := range sources {
		out = append(out, p.read(ctx, s))
		if err := ctx.Err(); err != nil {
			return out, err
		}
	}
	p.syncLiveAll(ctx, categoriesOf(sources))
	p.scheduleBuild()
	return out, nil
}

// categoriesOf lists the categories sources feed, once each.
func categoriesOf(sources []Source) []string {
	var out []string
	for _, s := range sources {
		if !slices.Contains(out, s.Category) {
			out = append(out, s.Category)
		}
	}
	return out
}

// scheduleBuild asks Run to bring the catalogs up to date.
func (p *Provider) scheduleBuild() {
	select {
	case p.refresh <- struct{}{}:
	default:
	}
}

func (p *Provider) sourcesNamed(names []string) ([]Source, error) {
	if len(names) == 0 {
		return p.cfg.Sources, nil
	}
	out := make([]Source, 0, len(names))
	for _, n := range names {
		i := -1
		for j := range p.cfg.Sources {
			if p.cfg.Sources[j].Name == n {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("%w: %.64q", ErrUnknownSource, n)
		}
		out = append(out, p.cfg.Sources[i])
	}
	return out, nil
}

// read reads one source to its new last good read (lastgood.go) and
// reports it: a source that fails keeps its previous one, which the next
// build uses, and the node's health reports it until a read ends well.
func (p *Provider) read(ctx context.Context, s Source) *riskmeshv1.ListImport {
	start := time.Now()
	rep, readErr, err := p.readSource(ctx, s)
	if err == nil {
		err = readErr
	}
	return p.report(s, rep, err, start, []string{s.Category})
}

// report turns a drained stream into a ListImport. Rejected rows are
// reported by number and reason only (lists.RowError never holds values);
// err, if any, is the source's failure.
func (p *Provider) report(s Source, rep lists.Report, err error, start time.Time, rebuilt []string) *riskmeshv1.ListImport {
	imp := &riskmeshv1.ListImport{
		Source:     s.Name,
		Rows:       uint64(rep.Entries + rep.Rejected),
		Accepted:   uint64(rep.Entries),
		Rejected:   uint64(rep.Rejected),
		Categories: rebuilt,
		Duration:   durationpb.New(time.Since(start)),
	}
	for _, re := range rep.Errors {
		reason := re.Err.Error()
		if re.Field != "" {
			reason = re.Field + ": " + reason
		}
		imp.RejectedRows = append(imp.RejectedRows, &riskmeshv1.RejectedRow{Line: uint64(re.Row), Reason: reason})
	}
	if err != nil {
		imp.Error = err.Error()
		p.log.Warn("provider: list source unreadable", "source", s.Name, "err", err)
	}
	return imp
}
