package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/config"
)

// institutions are the demo's list holders: synth's default three and a
// payment institution, so that every provider has three requesters to
// rate it (a score is shown from three, and no one rates itself), and
// Unreliable's list carries planted false positives.
func institutions() []synth.Institution {
	insts := append(synth.DefaultInstitutions(), synth.Institution{
		MSPID: "Pay4MSP", Weight: 2, Categories: map[synth.Category]int{synth.Black: 4, synth.Grey: 3, synth.Yellow: 3},
	})
	for i := range insts {
		if insts[i].MSPID == Unreliable {
			insts[i].FalsePositives = falsePositives
		}
	}
	return insts
}

// listFormat is the list format of the i-th institution, alternating so
// both file kinds are read: CSV exports and NDJSON feeds.
func listFormat(i int) string {
	if i%2 == 1 {
		return config.KindNDJSON
	}
	return config.KindCSV
}

// generate makes the lists, writes them as each institution's source file
// and draws the query batch with its planted hits.
func (d *session) generate(dir string) (*synth.Consortium, *synth.Batch, error) {
	done := d.step("generate", fmt.Sprintf("generating %d synthetic list entries (seed %d)", d.cfg.Scale, d.cfg.Seed))
	cons, err := synth.Generate(synth.Config{Seed: d.cfg.Seed, Entries: d.cfg.Scale, Institutions: institutions()})
	if err != nil {
		return nil, nil, err
	}
	listDir := filepath.Join(dir, "lists")
	if err := os.MkdirAll(listDir, 0o700); err != nil {
		return nil, nil, err
	}
	d.listed = map[string]uint64{}
	for i, l := range cons.Lists {
		for _, e := range l.Entries {
			if synth.Category(e.Label.Category) == category {
				d.listed[l.MSPID]++
			}
		}
		path := listPath(listDir, l.MSPID, listFormat(i))
		if err := writeList(path, listFormat(i), l); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(d.out, "   %-11s %8d entries  %s\n", l.MSPID, len(l.Entries), path)
	}
	// Small lists hold few black entries, fewer still on two lists.
	hits := min(30, d.cfg.Scale/100)
	batch, err := cons.Batch(synth.BatchConfig{
		Seed: d.cfg.Seed, Category: category, Size: BatchSize,
		Hits: hits, MultiHits: hits / 6, OtherCategory: min(20, hits), Invalid: 5, Duplicates: 5,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("query batch: %w", err)
	}
	if err := writeQueryFile(filepath.Join(dir, QueryFile), batch); err != nil {
		return nil, nil, err
	}
	if d.qualityBatches, err = qualityBatches(cons, d.cfg.Seed, d.cfg.Scale); err != nil {
		return nil, nil, err
	}
	done()
	return cons, batch, nil
}

// writeQueryFile writes the batch's valid identifiers, one TYPE:VALUE a
// line, for riskmesh query --file on a kept network.
func writeQueryFile(path string, b *synth.Batch) error {
	var sb strings.Builder
	for _, it := range b.Items {
		if it.Invalid == nil {
			sb.WriteString(it.ID.String() + "\n")
		}
	}
	return os.WriteFile(path, []byte(sb.String()), 0o600)
}

func listPath(dir, msp, kind string) string {
	return filepath.Join(dir, strings.ToLower(strings.TrimSuffix(msp, "MSP"))+"."+kind)
}

// writeList writes l in kind's format.
func writeList(path, kind string, l synth.List) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	write := synth.WriteCSV
	if kind == config.KindNDJSON {
		write = synth.WriteNDJSON
	}
	if err := write(f, l); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
