package provider

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// waitCatalog waits, bounded, until category's catalog for period is in
// state; CatalogChanges wakes it.
func (f *fixture) waitCatalog(period uint64, state riskmeshv1.CatalogState) *riskmeshv1.LocalCatalog {
	f.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		changed := f.p.CatalogChanges()
		for _, st := range f.p.CatalogStatus(category) {
			if st.GetPeriod() == period && st.GetState() == state {
				return st
			}
		}
		select {
		case <-changed:
		case <-timeout:
			f.t.Fatalf("catalog of period %d never %v: %v", period, state, f.p.CatalogStatus(category))
		}
	}
}

// Run builds the current period's catalog, builds the next one when the
// registry shows a new period while the old one keeps serving, submits
// answers' entries, and returns ctx's error.
func TestRunFollowsPeriods(t *testing.T) {
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.p.Run(ctx) }()

	f.waitCatalog(1, riskmeshv1.CatalogState_CATALOG_STATE_READY)
	if f.handle(f.newQuery(1, 0, phone).req).GetEvaluate() == nil {
		t.Fatal("evaluate refused")
	}
	fctx, fcancel := context.WithTimeout(f.ctx, 30*time.Second)
	must(t, f.p.Outbox().Flush(fctx))
	fcancel()

	_, err := f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	f.waitCatalog(2, riskmeshv1.CatalogState_CATALOG_STATE_READY)
	old := f.waitCatalog(1, riskmeshv1.CatalogState_CATALOG_STATE_SUPERSEDED)
	if !old.GetServing() {
		t.Fatal("the previous period's catalog stopped serving during its grace window")
	}
	if f.p.cats.get(category, 1) == nil {
		t.Fatal("the previous period's catalog is not served")
	}

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if f.p.Outbox().Recorded() != 1 {
		t.Fatalf("%d entries recorded, want 1", f.p.Outbox().Recorded())
	}
}

// A build that fails (the list file is unreadable) is reported FAILED with
// the reason, and nothing is published.
func TestBuildFailureReported(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Sources[0].Source = failingSource{}
	})
	if failed := f.p.maintain(f.ctx); !failed {
		t.Fatal("maintain reported success")
	}
	st := f.waitCatalog(1, riskmeshv1.CatalogState_CATALOG_STATE_FAILED)
	if st.GetError() == "" || st.GetServing() {
		t.Fatalf("status %v, want an error and not serving", st)
	}
	if _, err := f.requester.Catalog(f.ctx, providerMSP, category, 1); err == nil {
		t.Fatal("a catalog was published from a failed read")
	}
}
