package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Watch follows a reconciliation until it ends, calling fn with every state
// the node sends, and returns the last one.
func (c *Client) Watch(ctx context.Context, id string, fn func(*riskmeshv1.Reconciliation)) (*riskmeshv1.Reconciliation, error) {
	stream, err := c.WatchReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: id})
	if err != nil {
		return nil, err
	}
	var last *riskmeshv1.Reconciliation
	for {
		st, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if last == nil {
				return nil, ErrNoResult
			}
			return last, nil
		}
		if err != nil {
			return nil, err
		}
		last = st
		fn(st)
	}
}

// FetchRows writes a reconciliation's matched rows to w, one JSON object a
// line (the result file's format, docs/reconciliation.md), and returns how
// many it wrote.
func (c *Client) FetchRows(ctx context.Context, id string, w io.Writer) (int, error) {
	stream, err := c.FetchReconciliation(ctx, &riskmeshv1.GetReconciliationRequest{Id: id})
	if err != nil {
		return 0, err
	}
	enc := json.NewEncoder(w)
	n := 0
	for {
		batch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		for _, r := range batch.GetRows() {
			if err := enc.Encode(r); err != nil {
				return n, err
			}
			n++
		}
	}
}

// barWidth is the number of cells of a progress bar.
const barWidth = 30

// ProgressLine is a reconciliation's state on one line with a progress
// bar, for a terminal that redraws it.
func ProgressLine(st *riskmeshv1.Reconciliation) string {
	done, total := st.GetChunksDone(), st.GetChunksTotal()
	filled := 0
	if total > 0 {
		filled = int(uint64(done) * barWidth / uint64(total))
	}
	return fmt.Sprintf("%s [%s%s] %s chunks %d/%d, %d matches", Text(st.GetId()), strings.Repeat("#", filled),
		strings.Repeat(".", barWidth-filled), Text(st.GetState()), done, total, st.GetMatches())
}

// WriteReconciliation writes one reconciliation's state.
func WriteReconciliation(w io.Writer, st *riskmeshv1.Reconciliation) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\n", Text(st.GetId()))
	fmt.Fprintf(tw, "role\t%s with %s\n", Text(st.GetRole()), Text(st.GetPeer()))
	fmt.Fprintf(tw, "list\t%s\n", Text(st.GetList()))
	fmt.Fprintf(tw, "mode\t%s\n", Text(st.GetMode()))
	fmt.Fprintf(tw, "state\t%s\n", Text(st.GetState()))
	fmt.Fprintf(tw, "period, sequence\t%d, %d\n", st.GetPeriod(), st.GetSequence())
	fmt.Fprintf(tw, "sizes\t%d own, %d theirs\n", st.GetOwnSize(), st.GetPeerSize())
	fmt.Fprintf(tw, "progress\t%d/%d chunks (%s)\n", st.GetChunksDone(), st.GetChunksTotal(),
		progressText(uint64(st.GetChunksDone()), uint64(st.GetChunksTotal())))
	fmt.Fprintf(tw, "matches\t%d\n", st.GetMatches())
	if l := st.GetLabels(); l != "" {
		fmt.Fprintf(tw, "labels\t%s\n", Text(l))
	}
	fmt.Fprintf(tw, "result file\t%s\n", Text(st.GetResultPath()))
	if e := st.GetError(); e != "" {
		fmt.Fprintf(tw, "error\t%s\n", Text(e))
	}
	if d := st.GetDispute(); d != nil {
		fmt.Fprintf(tw, "dispute\t%s: %s\n", disputeText(d.GetState()), Text(d.GetReason()))
	}
	_ = tw.Flush()
}

// disputeText is a reconciliation dispute's state as the views show it,
// saying what it means for the charge.
func disputeText(s riskmeshv1.DisputeState) string {
	switch s {
	case riskmeshv1.DisputeState_DISPUTE_STATE_REVERSED:
		return "reversed (the charge is reversed on the ledger)"
	case riskmeshv1.DisputeState_DISPUTE_STATE_REJECTED:
		return "rejected (the charge stands)"
	case riskmeshv1.DisputeState_DISPUTE_STATE_UNBILLED:
		return "unbilled (never charged)"
	}
	return enumText(s.String(), "DISPUTE_STATE_")
}

// WriteReconciliations writes a table of reconciliations.
func WriteReconciliations(w io.Writer, list []*riskmeshv1.Reconciliation) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tPEER\tMODE\tSTATE\tPROGRESS\tMATCHES\tDISPUTE")
	for _, st := range list {
		dispute := "-"
		if d := st.GetDispute(); d != nil {
			dispute = enumText(d.GetState().String(), "DISPUTE_STATE_")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", Text(st.GetId()), Text(st.GetRole()), Text(st.GetPeer()),
			Text(st.GetMode()), Text(st.GetState()),
			progressText(uint64(st.GetChunksDone()), uint64(st.GetChunksTotal())), st.GetMatches(), dispute)
	}
	_ = tw.Flush()
}
